package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * The task loss on gold labels: cross-entropy over the classes, or mean squared error for a
 * regression task (STS-B), averaged over the batch.
 */
public final class HardLabelLoss implements LossTerm {

    public HardLabelLoss() {}

    /**
     * @param logits [batch, classes], or [batch, 1] for a regression
     * @param labels [batch]: class indices as floats, or regression targets
     */
    public static NDArray of(NDArray logits, NDArray labels, boolean regression) {
        if (regression) {
            return logits.reshape(-1).sub(labels).square().mean();
        }
        NDArray oneHot = labels.toType(DataType.INT64, false).oneHot((int) logits.getShape().get(1));
        return logits.logSoftmax(-1).mul(oneHot).sum(new int[] {1}).mean().neg();
    }

    @Override
    public NDArray compute(StepContext s) {
        return of(s.studentLogits(), s.requireLabels(name()), s.regression());
    }

    @Override
    public String name() {
        return "hard";
    }


    @Override
    public TeacherRequest teacherRequest() {
        return TeacherRequest.NONE;
    }
}
