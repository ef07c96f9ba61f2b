package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * The frozen teacher's outputs for every training example, computed in one pass before training:
 * its task logits and, when terms need them, the [CLS] vector after every layer (Patient-KD) and
 * the token states of some layers (DistilBERT's cosine term, hidden-state MSE). The teacher runs
 * in inference mode, so these do not change between epochs; every epoch after the first then skips
 * the teacher's forward pass, which is 40% of a 6-layer student's step with a 12-layer teacher and
 * more for smaller students.
 *
 * <p>Token states are kept without padding, one row per real token, and padded with zeros when a
 * batch is made: the terms leave padding positions out. Computed in a fixed order and batching, so
 * that a resumed run reads the same bits as a fresh one (padding to a batch's length may change
 * the last bit of a result).
 */
final class TeacherCache {

    /** Examples per teacher batch while filling the cache. */
    private static final int BATCH = 64;

    private final int outputs;
    private final int states;
    private final int hidden;
    private final int[] layers;
    private final int[] tokens;
    private final float[][] logits;
    private final float[][] cls;
    private final float[][] tokenStates;

    private TeacherCache(int outputs, int states, int hidden, int[] layers, int[] tokens, float[][] logits,
            float[][] cls, float[][] tokenStates) {
        this.outputs = outputs;
        this.states = states;
        this.hidden = hidden;
        this.layers = layers;
        this.tokens = tokens;
        this.logits = logits;
        this.cls = cls;
        this.tokenStates = tokenStates;
    }

    /**
     * Runs the teacher over every example, or returns null (saying why on stderr) when what would
     * be kept takes more than {@code budgetBytes} of the Java heap.
     *
     * @param withLogits keep the task-head outputs
     * @param withCls keep the [CLS] vector of the embeddings and of every layer
     * @param hiddenLayers keep the token states after these layers (0 = embeddings); may be empty
     * @param lengths a length proxy per example: batches are formed in length order, for speed
     * @param scope the manager under which each batch's arrays are made and freed
     */
    static TeacherCache build(BertModel teacher, ParameterStore ps, BertTokenizer tokenizer, Trainer.Examples data,
            int[] lengths, boolean withLogits, boolean withCls, Set<Integer> hiddenLayers, long budgetBytes,
            NDManager scope) {
        int n = data.size();
        int outputs = withLogits ? teacher.heads().taskOutputs() : 0;
        int states = teacher.config().numHiddenLayers() + 1;
        int hidden = teacher.config().hiddenSize();
        int[] layers = hiddenLayers.stream().mapToInt(Integer::intValue).sorted().toArray();
        Integer[] order = new Integer[n];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingInt(i -> lengths[i]));

        // Tokenise first: the token states' size is known only from the token counts.
        List<int[]> batches = new ArrayList<>();
        List<TokenBatch> tokenBatches = new ArrayList<>();
        int[] tokens = new int[n];
        long totalTokens = 0;
        for (int start = 0; start < n; start += BATCH) {
            int[] idx = new int[Math.min(BATCH, n - start)];
            for (int j = 0; j < idx.length; j++) {
                idx[j] = order[start + j];
            }
            TokenBatch tb = data.batch(tokenizer, idx);
            for (int j = 0; j < idx.length; j++) {
                tokens[idx[j]] = tb.length(j);
                totalTokens += tokens[idx[j]];
            }
            batches.add(idx);
            tokenBatches.add(tb);
        }
        long bytes = Float.BYTES * ((long) n * (outputs + (withCls ? (long) states * hidden : 0))
                + totalTokens * layers.length * hidden);
        if (bytes > budgetBytes) {
            System.err.printf("teacher outputs not cached (the teacher runs with every batch): %d examples need "
                    + "%.1f GB, more than a quarter of the Java heap (%.1f GB; raise it with -Xmx, e.g. "
                    + "DISTILL_JAVA_OPTS=-Xmx%dg)%n", n, bytes / 1e9, budgetBytes * 4 / 1e9,
                    (int) Math.ceil(bytes * 4 / 1e9) + 1);
            return null;
        }

        float[][] logits = withLogits ? new float[n][] : null;
        float[][] cls = withCls ? new float[n][] : null;
        float[][] tokenStates = layers.length > 0 ? new float[n][] : null;
        String label = withCls || layers.length > 0 ? "teacher outputs" : "teacher logits";
        try (ProgressBar bar = ConsoleProgress.start(label, n, 0, " examples")) {
            for (int b = 0; b < batches.size(); b++) {
                int[] idx = batches.get(b);
                TokenBatch tb = tokenBatches.get(b);
                try (NDManager s = scope.newSubManager()) {
                    EncoderOutput out = teacher.encode(ps, tb.toInput(s), false);
                    if (withLogits) {
                        float[] flat = teacher.classify(ps, out, false).toFloatArray();
                        for (int j = 0; j < idx.length; j++) {
                            logits[idx[j]] = Arrays.copyOfRange(flat, j * outputs, (j + 1) * outputs);
                        }
                    }
                    if (withCls) {
                        List<float[]> perState = new ArrayList<>(states);
                        for (int l = 0; l < states; l++) {
                            perState.add(out.cls(l).toFloatArray());
                        }
                        for (int j = 0; j < idx.length; j++) {
                            float[] row = new float[states * hidden];
                            for (int l = 0; l < states; l++) {
                                System.arraycopy(perState.get(l), j * hidden, row, l * hidden, hidden);
                            }
                            cls[idx[j]] = row;
                        }
                    }
                    if (tokenStates != null) {
                        int seq = tb.sequenceLength();
                        for (int j = 0; j < idx.length; j++) {
                            tokenStates[idx[j]] = new float[layers.length * tokens[idx[j]] * hidden];
                        }
                        for (int k = 0; k < layers.length; k++) {
                            float[] flat = out.hiddenStates().get(layers[k]).toFloatArray();
                            for (int j = 0; j < idx.length; j++) {
                                int len = tokens[idx[j]] * hidden;
                                // BERT pads on the right: the real tokens are a row's first ones.
                                System.arraycopy(flat, j * seq * hidden, tokenStates[idx[j]], k * len, len);
                            }
                        }
                    }
                }
                bar.stepBy(idx.length);
            }
        }
        System.err.printf("teacher outputs cached: %.0f MB for %d examples (%d tokens)%n", bytes / 1e6, n,
                totalTokens);
        return new TeacherCache(outputs, states, hidden, layers, tokens, logits, cls, tokenStates);
    }

    /** The task logits of examples {@code idx}, [batch, outputs], made in {@code m}. */
    NDArray logits(NDManager m, int[] idx) {
        float[] flat = new float[idx.length * outputs];
        for (int j = 0; j < idx.length; j++) {
            System.arraycopy(logits[idx[j]], 0, flat, j * outputs, outputs);
        }
        return m.create(flat, new Shape(idx.length, outputs));
    }

    /** The [CLS] vectors of examples {@code idx}: one [batch, hidden] array per state (0 = embeddings). */
    List<NDArray> cls(NDManager m, int[] idx) {
        List<NDArray> out = new ArrayList<>(states);
        for (int l = 0; l < states; l++) {
            float[] flat = new float[idx.length * hidden];
            for (int j = 0; j < idx.length; j++) {
                System.arraycopy(cls[idx[j]], l * hidden, flat, j * hidden, hidden);
            }
            out.add(m.create(flat, new Shape(idx.length, hidden)));
        }
        return out;
    }

    /**
     * The kept token states of examples {@code idx} padded with zeros to the batch's length {@code seq}:
     * one [batch, seq, hidden] array per kept layer.
     */
    Map<Integer, NDArray> hidden(NDManager m, int[] idx, int seq) {
        Map<Integer, NDArray> out = new LinkedHashMap<>();
        for (int k = 0; k < layers.length; k++) {
            float[] flat = new float[idx.length * seq * hidden];
            for (int j = 0; j < idx.length; j++) {
                int t = tokens[idx[j]];
                if (t > seq) {
                    throw new IllegalStateException("example " + idx[j] + " had " + t + " tokens when the teacher's "
                            + "states were cached but its batch is " + seq + " long: the tokenizer changed mid-run");
                }
                System.arraycopy(tokenStates[idx[j]], k * t * hidden, flat, j * seq * hidden, t * hidden);
            }
            out.put(layers[k], m.create(flat, new Shape(idx.length, seq, hidden)));
        }
        return out;
    }
}
