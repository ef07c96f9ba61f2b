package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Everything one forward pass of {@link BertEncoder} exposes for distillation.
 *
 * @param hiddenStates the embedding output at index 0, then the hidden state after every layer
 *     that ran: {@code layers + 1} arrays of [batch, seq, hidden]
 * @param attentionProbs per layer, [batch, heads, seq, seq] attention probabilities (padding keys get 0)
 * @param attentionScores per layer, [batch, heads, seq, seq] scaled scores {@code QK^T / sqrt(d)}
 *     before the padding bias and softmax
 * @param attentionMask [batch, seq], 1 for real tokens, 0 for padding
 */
public record EncoderOutput(
        List<NDArray> hiddenStates, List<NDArray> attentionProbs, List<NDArray> attentionScores,
        NDArray attentionMask) {

    /** The embedding layer's output, [batch, seq, hidden]. */
    public NDArray embeddings() {
        return hiddenStates.get(0);
    }

    /** The last layer's hidden state, [batch, seq, hidden]. */
    public NDArray lastHidden() {
        return hiddenStates.get(hiddenStates.size() - 1);
    }

    /** Number of layers that ran. */
    public int layers() {
        return attentionProbs.size();
    }

    /** The [CLS] vector, [batch, hidden], after layer {@code layer} (0 = embeddings). */
    public NDArray cls(int layer) {
        return hiddenStates.get(layer).get(":, 0, :");
    }
}
