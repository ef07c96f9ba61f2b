package org.distill4j.serve;

import java.util.ArrayList;
import java.util.List;

/**
 * Sentence vectors from any encoder the CLI takes, on the DJL encoder or ONNX Runtime. Thread-safe:
 * one instance serves many threads, each call batching its texts (shortest together). Close it to
 * free the model's native memory.
 *
 * <pre>{@code
 * try (TextEmbedder e = TextEmbedder.load("builtin:bge-small-en-v1.5", Pooling.CLS, true)) {
 *     float[][] v = e.embed(List.of("a cat sat", "the dog ran"));
 * }
 * }</pre>
 */
public final class TextEmbedder implements AutoCloseable {

    private final LoadedModel model;
    private final Pooling pooling;
    private final boolean normalize;

    TextEmbedder(LoadedModel model, Pooling pooling, boolean normalize) {
        this.model = model;
        this.pooling = pooling;
        this.normalize = normalize;
    }

    /**
     * Loads a model with default options (DJL, the model's length, batches of 32, truncating).
     *
     * @param pooling MEAN over real tokens (sentence-transformers models such as all-MiniLM-L6-v2) or
     *     the CLS vector (bge models)
     * @param normalize L2-normalise every vector (for cosine similarity by dot product)
     */
    public static TextEmbedder load(String model, Pooling pooling, boolean normalize) {
        return load(model, pooling, normalize, InferenceOptions.defaults());
    }

    public static TextEmbedder load(String model, Pooling pooling, boolean normalize, InferenceOptions options) {
        if (pooling == null) {
            throw new IllegalArgumentException("pooling must be MEAN or CLS");
        }
        return new TextEmbedder(LoadedModel.open(model, options, false), pooling, normalize);
    }

    /** Vectors of texts, in input order. */
    public float[][] embed(List<String> texts) {
        return embedAll(texts, null).stream().map(Embedding::vector).toArray(float[][]::new);
    }

    public float[] embed(String text) {
        return embed(List.of(text))[0];
    }

    /**
     * Vectors of texts or pairs, each saying whether its text was truncated.
     *
     * @param second null, or per text a second text (a pair, as the model's training saw them) or null
     */
    public List<Embedding> embedAll(List<String> texts, List<String> second) {
        return model.run(texts, second, (batch, truncated) -> {
            float[] hidden = model.backend.lastHidden(batch);
            int seq = batch.sequenceLength();
            int h = model.backend.hiddenSize();
            List<Embedding> rows = new ArrayList<>(batch.batchSize());
            for (int i = 0; i < batch.batchSize(); i++) {
                float[] v = new float[h];
                int base = i * seq * h;
                if (pooling == Pooling.CLS) {
                    System.arraycopy(hidden, base, v, 0, h);
                } else {
                    int real = 0;
                    for (int t = 0; t < seq; t++) {
                        if (batch.attentionMask()[i * seq + t] != 0) {
                            real++;
                            for (int d = 0; d < h; d++) {
                                v[d] += hidden[base + t * h + d];
                            }
                        }
                    }
                    for (int d = 0; d < h; d++) {
                        v[d] /= real;
                    }
                }
                rows.add(new Embedding(normalize ? normalized(v) : v, batch.length(i), truncated[i]));
            }
            return rows;
        });
    }

    /** {@code v} scaled to unit L2 length (a zero vector stays zero). */
    static float[] normalized(float[] v) {
        double sq = 0;
        for (float x : v) {
            sq += (double) x * x;
        }
        float scale = (float) (1 / Math.max(Math.sqrt(sq), 1e-12));
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * scale;
        }
        return out;
    }

    /** Length of every vector. */
    public int dimension() {
        return model.backend.hiddenSize();
    }

    public Pooling pooling() {
        return pooling;
    }

    public boolean normalize() {
        return normalize;
    }

    /** Tokens per text (or pair), special tokens included; longer inputs are cut or rejected. */
    public int maxLength() {
        return model.maxLength();
    }

    public Backend backend() {
        return model.backend.kind();
    }

    /** The model string this was loaded from. */
    public String modelName() {
        return model.name;
    }

    public ModelInfo info() {
        return model.info;
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public String toString() {
        return "TextEmbedder[" + model.name + ", " + backend().id() + ", " + pooling + (normalize ? ", normalized" : "")
                + ", dimension " + dimension() + ", max " + maxLength() + " tokens]";
    }
}
