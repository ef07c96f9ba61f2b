package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import org.distill4j.model.Scalar;

/**
 * Soft-target distillation (Hinton et al. 2015): KL(teacher ‖ student) between the softened
 * distributions softmax(z / T), scaled by T² so that its gradients keep their size as T changes,
 * averaged over the batch. For a regression task there is no distribution to soften, and the term
 * is the mean squared error between the two predictions (as TinyBERT does for STS-B).
 *
 * <p>KL differs from the soft cross-entropy of the PKD paper only by the teacher's entropy, a
 * constant: the gradients are the same, and KL reads 0 when the student matches.
 */
public final class SoftTargetLoss implements LossTerm {

    private final float temperature;

    public SoftTargetLoss(float temperature) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
        this.temperature = temperature;
    }

    /** @param student [batch, classes] logits; @param teacher the same shape */
    public static NDArray of(NDArray student, NDArray teacher, float temperature, boolean regression) {
        if (regression) {
            return student.sub(teacher).square().mean();
        }
        NDArray logPs = Scalar.div(student, temperature).logSoftmax(-1);
        NDArray logPt = Scalar.div(teacher, temperature).logSoftmax(-1);
        NDArray kl = logPt.exp().mul(logPt.sub(logPs)).sum(new int[] {1}).mean();
        return Scalar.mul(kl, temperature * temperature);
    }

    @Override
    public NDArray compute(StepContext s) {
        return of(s.studentLogits(), s.requireTeacher(name()).logits(), temperature, s.regression());
    }

    public float temperature() {
        return temperature;
    }

    @Override
    public String name() {
        return "soft";
    }


    @Override
    public TeacherRequest teacherRequest() {
        return TeacherRequest.logitsOnly();
    }
}
