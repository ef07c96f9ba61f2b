package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
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
        NDArray attended = residual(x, projection("attention.output.dense"), att.context(), ps, training);
        NDArray a = attentionNorm.forward(ps, attended, training);
        release(attended, att.context());
        NDArray up = projection("intermediate.dense").forward(ps, a, training);
        NDArray inner = Activation.gelu(up);
        release(up);
        if (ffnMask != null) {
            NDArray all = inner;
            inner = all.mul(ffnMask);
            release(all);
        }
        NDArray sum = residual(a, projection("output.dense"), inner, ps, training);
        release(a, inner);
        NDArray y = outputNorm.forward(ps, sum, training);
        release(sum);
        return new Result(y, att.scores(), att.probs());
    }

    /** {@code x + Dropout(projection(in))}, the intermediate handles released. */
    private NDArray residual(NDArray x, LinearProjection projection, NDArray in, ParameterStore ps, boolean training) {
        NDArray projected = projection.forward(ps, in, training);
        NDArray dropped = drop(projected, training);
        NDArray sum = x.add(dropped);
        release(projected, dropped);
        return sum;
    }

    private NDArray drop(NDArray x, boolean training) {
        return DropoutMasks.dropout(x, dropout, training);
    }
}
