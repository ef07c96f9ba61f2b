package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.Scalar;

/**
 * Patient-KD's intermediate loss (Sun et al. 2019, eq. 5): the squared difference between the
 * L2-normalised [CLS] states of mapped student and teacher layers. Normalising makes it compare
 * directions, not magnitudes. The paper writes a sum; its reference code takes the mean over
 * examples, layer pairs and hidden units, and the paper's β values (10 to 1000) are tuned for that
 * mean, so the mean is what this computes.
 */
public final class PatienceLoss implements LossTerm {

    private final LayerMapping mapping;

    public PatienceLoss(LayerMapping mapping) {
        this.mapping = mapping;
    }

    /** @param student [batch, width] [CLS] states; @param teacher the same shape */
    public static NDArray of(NDArray student, NDArray teacher) {
        if (!student.getShape().equals(teacher.getShape())) {
            throw new IllegalArgumentException("the patience loss needs [CLS] states of one width, got student "
                    + student.getShape() + " and teacher " + teacher.getShape());
        }
        NDArray s = student.div(Scalar.max(student.norm(new int[] {1}, true), 1e-8f));
        NDArray t = teacher.div(Scalar.max(teacher.norm(new int[] {1}, true), 1e-8f));
        return s.sub(t).square().mean();
    }

    @Override
    public NDArray compute(StepContext s) {
        NDArray sum = mapping.sum(p -> of(s.studentOut().cls(p.student()), s.requireTeacher(name()).cls(p.teacher())));
        return Scalar.div(sum, mapping.pairs().size());
    }

    @Override
    public String name() {
        return "patience";
    }


    @Override
    public TeacherRequest teacherRequest() {
        return TeacherRequest.clsOf(mapping.teacherLayers());
    }
}
