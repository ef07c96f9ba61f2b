package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;

/** Word + position + token-type embeddings, then LayerNorm and dropout (BERT paper, section 3). */
public final class BertEmbeddings extends BertModule {

    private final BertConfig config;
    private final Parameter word;
    private final Parameter position;
    private final Parameter tokenType;
    private final BertLayerNorm layerNorm;
    private boolean quantizedWords;

    public BertEmbeddings(BertConfig config) {
        this.config = config;
        int h = config.hiddenSize();
        word = param("word_embeddings.weight", new Shape(config.vocabSize(), h), BERT_INIT, Parameter.Type.WEIGHT);
        position = param("position_embeddings.weight", new Shape(config.maxPositionEmbeddings(), h), BERT_INIT,
                Parameter.Type.WEIGHT);
        tokenType = param("token_type_embeddings.weight", new Shape(config.typeVocabSize(), h), BERT_INIT,
                Parameter.Type.WEIGHT);
        layerNorm = child("LayerNorm", new BertLayerNorm(h, config.layerNormEps()));
    }

    /**
     * @param inputIds [batch, seq] int64 word-piece ids
     * @param tokenTypeIds [batch, seq] int64 segment ids
     * @return [batch, seq, hidden]
     */
    public NDArray forward(ParameterStore ps, NDArray inputIds, NDArray tokenTypeIds, boolean training) {
        long seq = inputIds.getShape().get(1);
        if (seq > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence length " + seq + " exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        NDArray range = inputIds.getManager().arange(0, seq, 1, DataType.INT64, inputIds.getDevice());
        NDArray positions = range.expandDims(0);
        NDArray words = lookup(ps, word, inputIds, training);
        if (quantizedWords) {
            // Each looked-up vector is a row of the table: rounded with the row's own scale, as exported.
            NDArray exact = words;
            words = FakeQuant.symmetric(exact, true);
            release(exact);
        }
        NDArray places = lookup(ps, position, positions, training);
        NDArray types = lookup(ps, tokenType, tokenTypeIds, training);
        NDArray partial = words.add(places);
        NDArray sum = partial.add(types);
        release(range, positions, words, places, types, partial);
        NDArray x = layerNorm.forward(ps, sum, training);
        release(sum);
        NDArray out = DropoutMasks.dropout(x, config.hiddenDropoutProb(), training);
        if (out != x) {
            release(x);
        }
        return out;
    }

    private NDArray lookup(ParameterStore ps, Parameter table, NDArray ids, boolean training) {
        return Embedding.embedding(ids, value(ps, table, ids, training), SparseFormat.DENSE).singletonOrThrow();
    }

    /** Rounds looked-up word vectors to int8 per row, as the int8 export stores the table ({@link QuantizationAware}). */
    void quantizeWords(boolean on) {
        quantizedWords = on;
    }

    /** The word-embedding table, shared with the masked-LM decoder. */
    public Parameter wordEmbeddings() {
        return word;
    }
}
