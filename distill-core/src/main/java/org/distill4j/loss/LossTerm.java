package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.util.Map;

/**
 * One weighted term of a training objective. A recipe is a list of these; the trainer sums
 * {@code weight() * compute(step)} and reports each term's unweighted value under its name.
 */
public interface LossTerm {

    /**
     * What of the teacher a term reads: nothing, its logits, its [CLS] vectors (both of which the
     * trainer may cache, {@code StepContext.teacherCls}), or its full hidden states and attentions.
     */
    enum TeacherNeed { NONE, LOGITS, CLS, STATES }

    /** A short name for logs and metrics, e.g. {@code soft_kl}. */
    String name();

    float weight();

    TeacherNeed teacherNeed();

    /** The unweighted term, a scalar. */
    NDArray compute(StepContext step);

    /** Parameters the term learns itself (a projection), by name; trained and saved with the student. */
    default Map<String, Parameter> parameters() {
        return Map.of();
    }
}
