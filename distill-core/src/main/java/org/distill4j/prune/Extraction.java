package org.distill4j.prune;

import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.train.SubNetwork;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * Cuts a model down to chosen layers, attention heads and feed-forward neurons, as a really
 * smaller model: the query, key and value rows and output columns of the heads kept, the
 * intermediate rows and output columns of the neurons kept, the layers kept renumbered. A
 * DynaBERT sub-network at width w and depth d keeps the first w of each layer's heads and neurons
 * (after {@link Rewiring} they are the most important) in the layers {@link SubNetwork#depthLayers}
 * names, and computes what the supernet masked to that sub-network computes.
 */
public final class Extraction {

    private Extraction() {}

    /** The DynaBERT sub-network at {@code width} × {@code depth}, as a model of its own. */
    public static Checkpoint subNetwork(Checkpoint c, double width, double depth) {
        if (!(width > 0 && width <= 1)) {
            throw new DistillException("width must be in (0, 1], got " + width);
        }
        BertConfig cfg = c.config();
        int[] layers = SubNetwork.depthLayers(depth, cfg.numHiddenLayers());
        int h = SubNetwork.kept(width, cfg.numAttentionHeads());
        int n = SubNetwork.kept(width, cfg.intermediateSize());
        int[][] heads = new int[layers.length][];
        int[][] neurons = new int[layers.length][];
        for (int i = 0; i < layers.length; i++) {
            heads[i] = IntStream.range(0, h).toArray();
            neurons[i] = IntStream.range(0, n).toArray();
        }
        return select(c, layers, heads, neurons, String.format("%s w%.2f d%.2f", c.name(), width, depth));
    }

    /**
     * A model of the given layers (0-based, in order), and in the i-th of them the heads
     * {@code heads[i]} and neurons {@code neurons[i]}, in that order. Every layer must keep as many
     * heads, and as many neurons, as the others (the encoder has one shape for all layers).
     */
    public static Checkpoint select(Checkpoint c, int[] layers, int[][] heads, int[][] neurons, String name) {
        BertConfig cfg = c.config();
        int hs = cfg.attentionHeadSize();
        int h = heads[0].length;
        int n = neurons[0].length;
        for (int i = 0; i < layers.length; i++) {
            if (heads[i].length != h || neurons[i].length != n) {
                throw new DistillException("every layer must keep as many heads and neurons as the others; layer "
                        + layers[i] + " keeps " + heads[i].length + " heads and " + neurons[i].length + " neurons, "
                        + "the first " + h + " and " + n);
            }
            check(heads[i], cfg.numAttentionHeads(), "head");
            check(neurons[i], cfg.intermediateSize(), "neuron");
        }
        StateDict out = new StateDict(name);
        for (Map.Entry<String, Tensor> e : c.weights().tensors().entrySet()) {
            if (!e.getKey().startsWith("encoder.layer.")) {
                out.put(e.getKey(), e.getValue());
            }
        }
        for (int i = 0; i < layers.length; i++) {
            String from = "encoder.layer." + layers[i] + ".";
            String to = "encoder.layer." + i + ".";
            int[] headRows = expand(heads[i], hs);
            for (String p : List.of("attention.self.query", "attention.self.key", "attention.self.value")) {
                out.put(to + p + ".weight", rows(require(c, from + p + ".weight"), headRows));
                out.put(to + p + ".bias", rows(require(c, from + p + ".bias"), headRows));
            }
            out.put(to + "attention.output.dense.weight", columns(require(c, from + "attention.output.dense.weight"),
                    headRows));
            out.put(to + "intermediate.dense.weight", rows(require(c, from + "intermediate.dense.weight"), neurons[i]));
            out.put(to + "intermediate.dense.bias", rows(require(c, from + "intermediate.dense.bias"), neurons[i]));
            out.put(to + "output.dense.weight", columns(require(c, from + "output.dense.weight"), neurons[i]));
            for (String p : List.of("attention.output.dense.bias", "attention.output.LayerNorm.weight",
                    "attention.output.LayerNorm.bias", "output.dense.bias", "output.LayerNorm.weight",
                    "output.LayerNorm.bias")) {
                out.put(to + p, require(c, from + p));
            }
        }
        BertConfig smaller = new BertConfig(cfg.vocabSize(), cfg.hiddenSize(), layers.length, h, hs, n, cfg.hiddenAct(),
                cfg.maxPositionEmbeddings(), cfg.typeVocabSize(), cfg.layerNormEps(), cfg.hiddenDropoutProb(),
                cfg.attentionProbsDropoutProb());
        return new Checkpoint(name, smaller, out, c.tokenizerJson());
    }

    private static void check(int[] idx, int total, String what) {
        boolean[] seen = new boolean[total];
        for (int i : idx) {
            if (i < 0 || i >= total || seen[i]) {
                throw new DistillException(what + " " + i + " is out of 0.." + (total - 1) + " or chosen twice");
            }
            seen[i] = true;
        }
    }

    static Tensor require(Checkpoint c, String name) {
        Tensor t = c.weights().get(name);
        if (t == null) {
            throw new DistillException(c.name() + " has no tensor " + name);
        }
        return t;
    }

    /** Head indices to the rows of their query/key/value slices. */
    private static int[] expand(int[] heads, int size) {
        int[] out = new int[heads.length * size];
        for (int i = 0; i < heads.length; i++) {
            for (int j = 0; j < size; j++) {
                out[i * size + j] = heads[i] * size + j;
            }
        }
        return out;
    }

    /** Rows {@code idx} of a [rows, cols] matrix, or elements of a vector. */
    static Tensor rows(Tensor t, int[] idx) {
        long[] shape = t.shape().clone();
        int cols = shape.length == 1 ? 1 : (int) shape[1];
        float[] d = new float[idx.length * cols];
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(t.data(), idx[i] * cols, d, i * cols, cols);
        }
        shape[0] = idx.length;
        return new Tensor(shape, d);
    }

    /** Columns {@code idx} of a [rows, cols] matrix. */
    static Tensor columns(Tensor t, int[] idx) {
        int r = (int) t.shape()[0];
        int cols = (int) t.shape()[1];
        float[] d = new float[r * idx.length];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < idx.length; j++) {
                d[i * idx.length + j] = t.data()[i * cols + idx[j]];
            }
        }
        return new Tensor(new long[] {r, idx.length}, d);
    }

    /** The layers of a model, all of them: for selections that keep depth. */
    static int[] allLayers(BertConfig c) {
        return IntStream.range(0, c.numHiddenLayers()).toArray();
    }
}
