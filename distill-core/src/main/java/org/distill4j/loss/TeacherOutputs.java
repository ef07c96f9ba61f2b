package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import org.distill4j.model.EncoderInput;

/**
 * The teacher's answers to a step's {@link TeacherRequest}s, for one batch: from a live forward
 * pass of the frozen teacher, or from outputs cached before training. Computed without gradients.
 * Asking for something no term of the stage requested is an error that says so.
 */
public interface TeacherOutputs {

    /** Task-head outputs, [batch, outputs]. */
    NDArray logits();

    /** The [CLS] vector after layer {@code layer} (0 = embeddings), [batch, hidden]. */
    NDArray cls(int layer);

    /** The token states after layer {@code layer} (0 = embeddings), [batch, seq, hidden]; zeros at padding. */
    NDArray hidden(int layer);

    /** Layer {@code layer}'s scaled pre-softmax attention scores, [batch, heads, seq, seq]. */
    NDArray attentionScores(int layer);

    /** Layer {@code layer}'s attention probabilities, [batch, heads, seq, seq]. */
    NDArray attentionProbs(int layer);

    /**
     * Masked-LM logits for a masked copy of the batch, at the flat positions {@code positions}
     * (indices into batch × seq), [positions, vocabulary].
     */
    NDArray maskedLmLogits(EncoderInput masked, NDArray positions);
}
