package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;

/**
 * What one training step offers its loss terms. Student outputs carry gradients; teacher outputs
 * were computed without them (or came from a cache).
 *
 * @param manager the step's manager: every array made for this step belongs to it
 * @param student the student, for terms that run an extra forward (the masked-LM term)
 * @param teacher the frozen teacher, or null when no term needs it
 * @param input the batch as the encoders see it
 * @param studentOut the student's forward in training mode
 * @param studentLogits task-head outputs, [batch, outputs]
 * @param teacherOut the teacher's forward in inference mode, or null if no term needs its states
 *     (or they came from the cache)
 * @param teacherCls the teacher's [CLS] vectors from the cache, one [batch, hidden] array per state
 *     (0 = embeddings), or null when {@code teacherOut} has them or no term needs them
 * @param teacherHidden the teacher's token states from the cache, [batch, seq, hidden] by state
 *     (zeros at padding), or null when {@code teacherOut} has them or no term needs them
 * @param teacherLogits the teacher's task-head outputs, or null
 * @param labels gold labels, [batch] (class index as float, or the regression target)
 * @param regression whether the task is a regression (one output)
 * @param random this step's random source, seeded from (seed, step) for exact resume
 */
public record StepContext(
        ParameterStore ps, NDManager manager, BertModel student, BertModel teacher, EncoderInput input,
        EncoderOutput studentOut, NDArray studentLogits, EncoderOutput teacherOut, List<NDArray> teacherCls,
        Map<Integer, NDArray> teacherHidden, NDArray teacherLogits,
        NDArray labels, boolean regression, Random random) {

    /** The teacher's states, or an error naming the term that needed them. */
    public EncoderOutput requireTeacherOut(String term) {
        if (teacherOut == null) {
            throw new IllegalStateException(term + " needs the teacher's hidden states but the step has none");
        }
        return teacherOut;
    }

    /** The teacher's [CLS] vector after layer {@code layer} (0 = embeddings), [batch, hidden]. */
    public NDArray teacherCls(String term, int layer) {
        if (teacherOut != null) {
            return teacherOut.cls(layer);
        }
        if (teacherCls == null) {
            throw new IllegalStateException(term + " needs the teacher's [CLS] states but the step has none");
        }
        return teacherCls.get(layer);
    }

    /** The teacher's token states after layer {@code layer} (0 = embeddings), [batch, seq, hidden]. */
    public NDArray teacherHidden(String term, int layer) {
        if (teacherOut != null) {
            return teacherOut.hiddenStates().get(layer);
        }
        NDArray h = teacherHidden == null ? null : teacherHidden.get(layer);
        if (h == null) {
            throw new IllegalStateException(term + " needs the teacher's states after layer " + layer
                    + " but the step has none (does its teacherLayers() name that layer?)");
        }
        return h;
    }

    /** The teacher's logits, or an error naming the term that needed them. */
    public NDArray requireTeacherLogits(String term) {
        if (teacherLogits == null) {
            throw new IllegalStateException(term + " needs the teacher's logits but the step has none");
        }
        return teacherLogits;
    }
}
