package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * Sentence vectors from an encoder: mean of the last hidden state over real tokens (what
 * sentence-transformers models such as all-MiniLM-L6-v2 are trained for) or the [CLS] vector
 * (bge models), optionally L2-normalised. Texts are batched by length so padding stays small.
 */
public final class SentenceEmbedder {

    /** How token vectors become one sentence vector. */
    public enum Pooling { MEAN, CLS }

    private final BertModel model;
    private final BertTokenizer tokenizer;
    private final Pooling pooling;
    private final boolean normalize;

    public SentenceEmbedder(BertModel model, BertTokenizer tokenizer, Pooling pooling, boolean normalize) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.pooling = pooling;
        this.normalize = normalize;
    }

    /**
     * Embeds texts (second texts may be null, or null entries for single texts), in input order.
     *
     * @param progress called with the number of texts finished after each batch
     */
    public float[][] embed(List<String> first, List<String> second, int batchSize, IntConsumer progress) {
        int n = first.size();
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> first.get(i).length() + (second == null || second.get(i) == null
                ? 0 : second.get(i).length())));
        float[][] out = new float[n][];
        ParameterStore ps = new ParameterStore(model.manager(), false);
        for (int start = 0; start < n; start += batchSize) {
            List<Integer> idx = order.subList(start, Math.min(n, start + batchSize));
            for (List<Integer> group : splitByPairing(idx, second)) {
                List<String> a = group.stream().map(first::get).toList();
                List<String> b = second == null || second.get(group.get(0)) == null ? null
                        : group.stream().map(second::get).toList();
                float[][] vectors = embedBatch(ps, tokenizer.batch(a, b));
                for (int j = 0; j < group.size(); j++) {
                    out[group.get(j)] = vectors[j];
                }
            }
            progress.accept(idx.size());
        }
        return out;
    }

    /** A batch is either all single texts or all pairs. */
    private static List<List<Integer>> splitByPairing(List<Integer> idx, List<String> second) {
        if (second == null) {
            return List.of(idx);
        }
        List<Integer> singles = idx.stream().filter(i -> second.get(i) == null).toList();
        List<Integer> pairs = idx.stream().filter(i -> second.get(i) != null).toList();
        List<List<Integer>> groups = new ArrayList<>();
        if (!singles.isEmpty()) {
            groups.add(singles);
        }
        if (!pairs.isEmpty()) {
            groups.add(pairs);
        }
        return groups;
    }

    private float[][] embedBatch(ParameterStore ps, TokenBatch batch) {
        try (NDManager step = model.manager().newSubManager()) {
            EncoderInput input = batch.toInput(step);
            NDArray last = model.lastHidden(ps, input, false);
            NDArray v;
            if (pooling == Pooling.CLS) {
                v = last.get(":, 0, :");
            } else {
                NDArray mask = input.attentionMask().toType(DataType.FLOAT32, false).expandDims(-1);
                v = last.mul(mask).sum(new int[] {1}).div(mask.sum(new int[] {1}));
            }
            if (normalize) {
                v = v.div(v.norm(new int[] {1}, true).maximum(1e-12f));
            }
            float[] flat = v.toFloatArray();
            int h = (int) v.getShape().get(1);
            float[][] rows = new float[batch.batchSize()][h];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(flat, i * h, rows[i], 0, h);
            }
            return rows;
        }
    }
}
