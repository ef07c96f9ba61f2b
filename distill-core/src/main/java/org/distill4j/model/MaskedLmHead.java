package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

/**
 * BERT's masked-LM head: dense, GELU, LayerNorm, then a decoder whose weight is tied to the word
 * embeddings (BERT paper, appendix A.2) plus an output bias per vocabulary entry.
 */
public final class MaskedLmHead extends BertModule {

    private final BertLayerNorm norm;
    private final Parameter bias;
    private final Parameter decoder;

    /** @param wordEmbeddings the encoder's word-embedding table, reused as the decoder weight */
    public MaskedLmHead(BertConfig config, Parameter wordEmbeddings) {
        child("transform.dense", new Dense(config.hiddenSize(), config.hiddenSize()));
        norm = child("transform.LayerNorm", new BertLayerNorm(config.hiddenSize(), config.layerNormEps()));
        bias = param("bias", new Shape(config.vocabSize()), Initializer.ZEROS, Parameter.Type.BIAS);
        decoder = wordEmbeddings;
    }

    /** @param hidden [batch, seq, hidden] or [n, hidden]; returns vocabulary logits */
    public NDArray forward(ParameterStore ps, NDArray hidden, boolean training) {
        NDArray t = norm.forward(ps, Activation.gelu(projection("transform.dense").forward(ps, hidden, training)), training);
        return Dense.linear(t, value(ps, decoder, t, training), value(ps, bias, t, training));
    }
}
