package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import org.distill4j.mapping.LayerMapping;

/**
 * Patient-KD's intermediate loss (Sun et al. 2019, eq. 5): the squared distance between the
 * L2-normalised [CLS] states of mapped student and teacher layers, summed over layer pairs and
 * averaged over the batch. Normalising makes it compare directions, not magnitudes.
 */
public final class PatienceLoss implements LossTerm {

    private final float weight;
    private final LayerMapping mapping;

    public PatienceLoss(float weight, LayerMapping mapping) {
        this.weight = weight;
        this.mapping = mapping;
    }

    /** @param student [batch, width] [CLS] states; @param teacher the same shape */
    public static NDArray of(NDArray student, NDArray teacher) {
        if (!student.getShape().equals(teacher.getShape())) {
            throw new IllegalArgumentException("the patience loss needs [CLS] states of one width, got student "
                    + student.getShape() + " and teacher " + teacher.getShape());
        }
        NDArray s = student.div(student.norm(new int[] {1}, true).maximum(1e-8f));
        NDArray t = teacher.div(teacher.norm(new int[] {1}, true).maximum(1e-8f));
        return s.sub(t).square().sum(new int[] {1}).mean();
    }

    @Override
    public NDArray compute(StepContext s) {
        var t = s.requireTeacherOut(name());
        NDArray total = null;
        for (LayerMapping.Pair p : mapping.pairs()) {
            NDArray l = of(s.studentOut().cls(p.student()), t.cls(p.teacher()));
            total = total == null ? l : total.add(l);
        }
        return total;
    }

    @Override
    public String name() {
        return "patience";
    }

    @Override
    public float weight() {
        return weight;
    }

    @Override
    public TeacherNeed teacherNeed() {
        return TeacherNeed.STATES;
    }
}
