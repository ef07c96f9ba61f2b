package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.util.Map;
import java.util.Set;

/**
 * One weighted term of a training objective. A recipe is a list of these; the trainer sums
 * {@code weight() * compute(step)} and reports each term's unweighted value under its name.
 */
public interface LossTerm {

    /**
     * What of the teacher a term reads: nothing; its logits; its [CLS] vectors
     * ({@code StepContext.teacherCls}); the token hidden states of the layers {@link #teacherLayers()}
     * names ({@code StepContext.teacherHidden}); or everything, attentions included. The trainer may
     * compute all but the last once per example and cache them.
     */
    enum TeacherNeed { NONE, LOGITS, CLS, HIDDEN, STATES }

    /** A short name for logs and metrics, e.g. {@code soft_kl}. */
    String name();

    float weight();

    TeacherNeed teacherNeed();

    /** The teacher's hidden states a {@code HIDDEN} term reads (0 = embeddings); empty for the others. */
    default Set<Integer> teacherLayers() {
        return Set.of();
    }

    /** The unweighted term, a scalar. */
    NDArray compute(StepContext step);

    /** Parameters the term learns itself (a projection), by name; trained and saved with the student. */
    default Map<String, Parameter> parameters() {
        return Map.of();
    }
}
