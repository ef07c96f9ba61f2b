package org.distill4j.prune;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * Cuts a pre-trained encoder to a narrower shape: chosen layers, a smaller hidden size, narrower
 * heads and fewer feed-forward neurons, each kept dimension being one of the source's. A student
 * narrower than its teacher (TinyBERT4's 312 against bge-small's 384) then starts from the
 * teacher's weights instead of random ones, which matters when general distillation reads a corpus
 * thousands of times smaller than the paper's.
 *
 * <p>What is kept is chosen from the weights alone, no data: a hidden dimension by how much every
 * layer's query, key, value and feed-forward input take from it, its column's norm times the size of
 * the LayerNorm output it reads (√(γ² + β²)), as each matrix's share, so that no matrix outweighs the
 * others by its scale. (Column norms alone do worse than a random choice on all-MiniLM-L6-v2: a
 * dimension that a LayerNorm makes large is read with small weights.) Within each head, the
 * query/key dimensions by the product of their query and key row norms and the value dimensions by
 * the product of their value row and output column norms; a feed-forward neuron by the product of
 * its input row and output column norms. Kept dimensions stay in their source order. The query is
 * scaled by √(new head size / source head size) so that its scores, divided by the narrower head's
 * √d, keep the source's scale. The pooler and heads are left out: a task student gets a new head.
 */
public final class Narrowing {

    private Narrowing() {}

    /**
     * {@code source}'s {@code layers} (1-based, in order), narrowed to {@code hidden} dimensions, the
     * source's number of heads of {@code hidden / heads} dimensions each, and {@code intermediate}
     * neurons.
     */
    public static Checkpoint cut(Checkpoint source, List<Integer> layers, int hidden, int heads, int intermediate) {
        BertConfig c = source.config();
        if (heads != c.numAttentionHeads()) {
            throw new DistillException("student.shape.heads is " + heads + " but " + source.name() + " has "
                    + c.numAttentionHeads() + " heads: a narrowed student keeps every head, each narrower");
        }
        if (hidden % heads != 0) {
            throw new DistillException("student.shape.heads (" + heads + ") must divide student.shape.hidden (" + hidden
                    + ")");
        }
        int headSize = hidden / heads;
        int sourceHead = c.attentionHeadSize();
        if (hidden > c.hiddenSize() || headSize > sourceHead || intermediate > c.intermediateSize()) {
            throw new DistillException("student.shape (hidden " + hidden + ", head size " + headSize + ", intermediate "
                    + intermediate + ") is wider than " + source.name() + " (hidden " + c.hiddenSize() + ", head size "
                    + sourceHead + ", intermediate " + c.intermediateSize() + "): narrowing only removes dimensions");
        }
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i) < 1 || layers.get(i) > c.numHiddenLayers()) {
                throw new DistillException("student.layers[" + i + "] is " + layers.get(i) + " but " + source.name()
                        + " has layers 1 to " + c.numHiddenLayers());
            }
        }
        int[] dims = hiddenDims(source, hidden);
        StateDict out = new StateDict(source.name() + " narrowed");
        for (String p : List.of("word_embeddings", "position_embeddings", "token_type_embeddings")) {
            String name = "embeddings." + p + ".weight";
            out.put(name, Extraction.columns(Extraction.require(source, name), dims));
        }
        for (String p : List.of("weight", "bias")) {
            out.put("embeddings.LayerNorm." + p, Extraction.rows(Extraction.require(source, "embeddings.LayerNorm." + p), dims));
        }
        float queryScale = (float) Math.sqrt((double) headSize / sourceHead);
        for (int i = 0; i < layers.size(); i++) {
            String from = "encoder.layer." + (layers.get(i) - 1) + ".";
            String to = "encoder.layer." + i + ".";
            Tensor q = Extraction.require(source, from + "attention.self.query.weight");
            Tensor k = Extraction.require(source, from + "attention.self.key.weight");
            Tensor v = Extraction.require(source, from + "attention.self.value.weight");
            Tensor o = Extraction.require(source, from + "attention.output.dense.weight");
            int[] qk = perHead(rowNorms(q), rowNorms(k), heads, sourceHead, headSize);
            int[] vo = perHead(rowNorms(v), columnNorms(o), heads, sourceHead, headSize);
            out.put(to + "attention.self.query.weight",
                    scaled(Extraction.columns(Extraction.rows(q, qk), dims), queryScale));
            out.put(to + "attention.self.query.bias",
                    scaled(Extraction.rows(Extraction.require(source, from + "attention.self.query.bias"), qk), queryScale));
            out.put(to + "attention.self.key.weight", Extraction.columns(Extraction.rows(k, qk), dims));
            out.put(to + "attention.self.key.bias", Extraction.rows(Extraction.require(source, from + "attention.self.key.bias"),
                    qk));
            out.put(to + "attention.self.value.weight", Extraction.columns(Extraction.rows(v, vo), dims));
            out.put(to + "attention.self.value.bias",
                    Extraction.rows(Extraction.require(source, from + "attention.self.value.bias"), vo));
            out.put(to + "attention.output.dense.weight", Extraction.columns(Extraction.rows(o, dims), vo));
            Tensor in = Extraction.require(source, from + "intermediate.dense.weight");
            Tensor down = Extraction.require(source, from + "output.dense.weight");
            int[] neurons = top(product(rowNorms(in), columnNorms(down)), intermediate);
            out.put(to + "intermediate.dense.weight", Extraction.columns(Extraction.rows(in, neurons), dims));
            out.put(to + "intermediate.dense.bias",
                    Extraction.rows(Extraction.require(source, from + "intermediate.dense.bias"), neurons));
            out.put(to + "output.dense.weight", Extraction.columns(Extraction.rows(down, dims), neurons));
            for (String p : List.of("attention.output.dense.bias", "attention.output.LayerNorm.weight",
                    "attention.output.LayerNorm.bias", "output.dense.bias", "output.LayerNorm.weight",
                    "output.LayerNorm.bias")) {
                out.put(to + p, Extraction.rows(Extraction.require(source, from + p), dims));
            }
        }
        BertConfig narrow = new BertConfig(c.vocabSize(), hidden, layers.size(), heads, headSize, intermediate,
                c.hiddenAct(), c.maxPositionEmbeddings(), c.typeVocabSize(), c.layerNormEps(), c.hiddenDropoutProb(),
                c.attentionProbsDropoutProb());
        String name = source.name() + " layers " + layers + " narrowed to " + hidden + "/" + intermediate;
        return new Checkpoint(name, narrow, out, source.tokenizerJson());
    }

    /**
     * The {@code hidden} dimensions of the residual stream that the layers read most, in source
     * order: the dimensions {@link #cut} keeps, student dimension j being source dimension [j].
     */
    public static int[] hiddenDims(Checkpoint source, int hidden) {
        BertConfig c = source.config();
        int h = c.hiddenSize();
        double[] score = new double[h];
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String in = l == 0 ? "embeddings.LayerNorm." : "encoder.layer." + (l - 1) + ".output.LayerNorm.";
            String layer = "encoder.layer." + l + ".";
            double[] scale = lnScale(source, in);
            for (String p : List.of("attention.self.query", "attention.self.key", "attention.self.value")) {
                add(score, columnNorms(Extraction.require(source, layer + p + ".weight")), scale);
            }
            add(score, columnNorms(Extraction.require(source, layer + "intermediate.dense.weight")),
                    lnScale(source, layer + "attention.output.LayerNorm."));
        }
        return top(score, hidden);
    }

    /** The typical size of a LayerNorm's output in each dimension: √(γ² + β²) for a unit-variance input. */
    private static double[] lnScale(Checkpoint source, String ln) {
        float[] g = Extraction.require(source, ln + "weight").data();
        float[] b = Extraction.require(source, ln + "bias").data();
        double[] s = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            s[i] = Math.sqrt((double) g[i] * g[i] + (double) b[i] * b[i]);
        }
        return s;
    }

    /** Adds each dimension's share of what a reader takes in: (‖column‖ · input scale)² over its total. */
    private static void add(double[] score, double[] columns, double[] scale) {
        double[] u = new double[score.length];
        double total = 0;
        for (int d = 0; d < u.length; d++) {
            u[d] = Math.pow(columns[d] * scale[d], 2);
            total += u[d];
        }
        for (int d = 0; d < u.length && total > 0; d++) {
            score[d] += u[d] / total;
        }
    }

    /** For each head, the {@code keep} of its {@code size} dimensions with the largest a·b, as rows. */
    private static int[] perHead(double[] a, double[] b, int heads, int size, int keep) {
        int[] rows = new int[heads * keep];
        for (int h = 0; h < heads; h++) {
            double[] s = new double[size];
            for (int j = 0; j < size; j++) {
                s[j] = a[h * size + j] * b[h * size + j];
            }
            int[] kept = top(s, keep);
            for (int j = 0; j < keep; j++) {
                rows[h * keep + j] = h * size + kept[j];
            }
        }
        return rows;
    }

    /** Indices of the {@code k} largest scores, in ascending index order (ties: the lower index). */
    static int[] top(double[] score, int k) {
        return IntStream.range(0, score.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -score[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
    }

    private static double[] product(double[] a, double[] b) {
        double[] p = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            p[i] = a[i] * b[i];
        }
        return p;
    }

    /** L2 norm of each row of a [rows, cols] matrix. */
    static double[] rowNorms(Tensor t) {
        int r = (int) t.shape()[0];
        int cols = (int) t.shape()[1];
        double[] n = new double[r];
        for (int i = 0; i < r; i++) {
            double s = 0;
            for (int j = 0; j < cols; j++) {
                double x = t.data()[i * cols + j];
                s += x * x;
            }
            n[i] = Math.sqrt(s);
        }
        return n;
    }

    /** L2 norm of each column of a [rows, cols] matrix. */
    static double[] columnNorms(Tensor t) {
        int r = (int) t.shape()[0];
        int cols = (int) t.shape()[1];
        double[] s = new double[cols];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < cols; j++) {
                double x = t.data()[i * cols + j];
                s[j] += x * x;
            }
        }
        return Arrays.stream(s).map(Math::sqrt).toArray();
    }

    private static Tensor scaled(Tensor t, float f) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] *= f;
        }
        return new Tensor(t.shape(), d);
    }
}
