package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;
import java.util.List;

/**
 * Everything one forward pass of {@link BertEncoder} exposes for distillation. States are found by
 * <em>layer number</em>, as the full model numbers them: 0 is the embedding output and {@code k} the
 * output of the model's k-th transformer layer (1-based). When a forward pass runs a subset of the
 * layers ({@link ForwardOptions#layers}), the numbers still name the original layers, so a layer
 * mapping never silently pairs the wrong states; asking for a layer that did not run is an error.
 *
 * @param hiddenStates the embedding output, then the hidden state after every layer that ran, in
 *     the order they ran: {@code layers() + 1} arrays of [batch, seq, hidden]
 * @param attentionProbs per layer that ran, [batch, heads, seq, seq] attention probabilities (padding keys get 0)
 * @param attentionScores per layer that ran, [batch, heads, seq, seq] scaled scores {@code QK^T / sqrt(d)}
 *     before the padding bias and softmax
 * @param attentionMask [batch, seq], 1 for real tokens, 0 for padding
 * @param layerNumbers the layer number of each entry of {@code hiddenStates}: 0 first, then the
 *     1-based number of each layer that ran
 */
public record EncoderOutput(
        List<NDArray> hiddenStates, List<NDArray> attentionProbs, List<NDArray> attentionScores,
        NDArray attentionMask, int[] layerNumbers) {

    public EncoderOutput {
        if (layerNumbers.length != hiddenStates.size() || layerNumbers[0] != 0) {
            throw new IllegalArgumentException("layer numbers " + Arrays.toString(layerNumbers) + " do not describe "
                    + hiddenStates.size() + " hidden states (the first is the embeddings, 0)");
        }
    }

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

    /** Whether layer {@code layer} ran (0, the embeddings, always has). */
    public boolean has(int layer) {
        return position(layer) >= 0;
    }

    /** The hidden state after layer {@code layer} (0 = embeddings), [batch, seq, hidden]. */
    public NDArray hidden(int layer) {
        return hiddenStates.get(require(layer));
    }

    /** The [CLS] vector, [batch, hidden], after layer {@code layer} (0 = embeddings). */
    public NDArray cls(int layer) {
        return hidden(layer).get(":, 0, :");
    }

    /** The [CLS] vector after the last layer that ran. */
    public NDArray lastCls() {
        return lastHidden().get(":, 0, :");
    }

    /** Layer {@code layer}'s attention probabilities (1-based), [batch, heads, seq, seq]. */
    public NDArray probs(int layer) {
        return attentionProbs.get(requireAttention(layer));
    }

    /** Layer {@code layer}'s scaled pre-softmax scores (1-based), [batch, heads, seq, seq]. */
    public NDArray scores(int layer) {
        return attentionScores.get(requireAttention(layer));
    }

    private int position(int layer) {
        for (int i = 0; i < layerNumbers.length; i++) {
            if (layerNumbers[i] == layer) {
                return i;
            }
        }
        return -1;
    }

    private int require(int layer) {
        int p = position(layer);
        if (p < 0) {
            throw new IllegalArgumentException("layer " + layer + " did not run in this forward pass; its layers were "
                    + Arrays.toString(Arrays.copyOfRange(layerNumbers, 1, layerNumbers.length))
                    + " (0 is the embeddings)");
        }
        return p;
    }

    private int requireAttention(int layer) {
        if (layer == 0) {
            throw new IllegalArgumentException("layer 0 is the embeddings, which have no attention");
        }
        return require(layer) - 1;
    }
}
