package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.Scalar;

/**
 * Cosine embedding loss between hidden states, 1 − cos(h^S, h^T) per token averaged over real
 * tokens and summed over layer pairs. DistilBERT (Sanh et al. 2019, section 3) adds it to align
 * the direction of the student's last hidden states with the teacher's. Needs equal widths.
 */
public final class CosineLoss implements LossTerm {

    private final LayerMapping mapping;

    public CosineLoss(LayerMapping mapping) {
        this.mapping = mapping;
    }

    /** @param student [batch, seq, width]; @param teacher the same shape; @param mask [batch, seq] */
    public static NDArray of(NDArray student, NDArray teacher, NDArray mask) {
        if (!student.getShape().equals(teacher.getShape())) {
            throw new IllegalArgumentException("the cosine loss needs hidden states of one shape, got student "
                    + student.getShape() + " and teacher " + teacher.getShape()
                    + "; use hidden_mse with a projection when widths differ");
        }
        NDArray dot = student.mul(teacher).sum(new int[] {2});
        NDArray norms = Scalar.max(student.norm(new int[] {2}).mul(teacher.norm(new int[] {2})), 1e-8f);
        NDArray loss = dot.div(norms).neg().add(1f);
        NDArray m = TokenMask.perToken(mask).squeeze(2);
        return TokenMask.maskedMean(loss, m, 1);
    }

    @Override
    public NDArray compute(StepContext s) {
        return mapping.sum(p -> of(s.studentOut().hidden(p.student()), s.requireTeacher(name()).hidden(p.teacher()),
                s.input().attentionMask()));
    }

    @Override
    public String name() {
        return "cosine";
    }


    @Override
    public TeacherRequest teacherRequest() {
        return TeacherRequest.hiddenOf(mapping.teacherLayers());
    }
}
