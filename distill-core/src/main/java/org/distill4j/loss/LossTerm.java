package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.util.Map;

/**
 * One quantity a training objective can minimise. A recipe weighs terms ({@link WeightedTerm});
 * the trainer computes each once per student forward and reports it unweighted under its name.
 */
public interface LossTerm {

    /** A short name for logs and metrics, e.g. {@code soft}. */
    String name();

    /** What the term reads from the teacher; {@link TeacherRequest#NONE} for none. */
    TeacherRequest teacherRequest();

    /** The unweighted term, a scalar. */
    NDArray compute(StepContext step);

    /** Parameters the term learns itself (a projection), by name; trained and checkpointed with the student. */
    default Map<String, Parameter> parameters() {
        return Map.of();
    }
}
