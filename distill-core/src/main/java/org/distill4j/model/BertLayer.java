package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;

/**
 * One transformer layer in BERT's post-norm arrangement:
 * {@code a = LN(x + Dropout(W_o · SelfAttention(x)))}, {@code y = LN(a + Dropout(W_2 · GELU(W_1 · a)))}.
 */
public final class BertLayer extends BertModule {

    private final float dropout;
    private final BertSelfAttention selfAttention;
    private final BertLayerNorm attentionNorm;
    private final BertLayerNorm outputNorm;

    public BertLayer(BertConfig config) {
        int h = config.hiddenSize();
        this.dropout = config.hiddenDropoutProb();
        selfAttention = child("attention.self", new BertSelfAttention(config));
        child("attention.output.dense", new Dense(config.allHeadsSize(), h));
        attentionNorm = child("attention.output.LayerNorm", new BertLayerNorm(h, config.layerNormEps()));
        child("intermediate.dense", new Dense(h, config.intermediateSize()));
        child("output.dense", new Dense(config.intermediateSize(), h));
        outputNorm = child("output.LayerNorm", new BertLayerNorm(h, config.layerNormEps()));
    }

    /** A layer's output with the attention it computed on the way. */
    public record Result(NDArray hidden, NDArray scores, NDArray probs) {}

    /**
     * @param headMask [heads] or null; multiplies each head's attention probabilities
     * @param ffnMask [intermediate] or null; multiplies each feed-forward neuron after GELU
     */
    public Result forward(ParameterStore ps, NDArray x, NDArray maskBias, NDArray headMask, NDArray ffnMask,
            boolean training) {
        BertSelfAttention.Result att = selfAttention.forward(ps, x, maskBias, headMask, training);
        NDArray a = attentionNorm.forward(ps,
                x.add(drop(projection("attention.output.dense").forward(ps, att.context(), training), training)), training);
        NDArray inner = Activation.gelu(projection("intermediate.dense").forward(ps, a, training));
        if (ffnMask != null) {
            inner = inner.mul(ffnMask);
        }
        NDArray y = outputNorm.forward(ps, a.add(drop(projection("output.dense").forward(ps, inner, training), training)), training);
        return new Result(y, att.scores(), att.probs());
    }

    private NDArray drop(NDArray x, boolean training) {
        return Dropout.dropout(x, dropout, training).singletonOrThrow();
    }
}
