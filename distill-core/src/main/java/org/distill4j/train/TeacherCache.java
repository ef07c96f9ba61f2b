package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;

/**
 * The frozen teacher's outputs for every training example, computed in one pass before training:
 * its task logits and, when a term needs them (Patient-KD), the [CLS] vector after every layer.
 * The teacher runs in inference mode, so these do not change between epochs; every epoch after
 * the first then skips the teacher's forward pass, which is 40% of a 6-layer student's step with a
 * 12-layer teacher and more for smaller students.
 *
 * <p>Computed in a fixed order and batching, so that a resumed run reads the same bits as a fresh
 * one (padding to a batch's length may change the last bit of a result).
 */
final class TeacherCache {

    /** Examples per teacher batch while filling the cache. */
    private static final int BATCH = 64;

    private final int outputs;
    private final int states;
    private final int hidden;
    private final float[][] logits;
    private final float[][] cls;

    private TeacherCache(int outputs, int states, int hidden, float[][] logits, float[][] cls) {
        this.outputs = outputs;
        this.states = states;
        this.hidden = hidden;
        this.logits = logits;
        this.cls = cls;
    }

    /** Bytes the [CLS] states of {@code examples} examples take on the Java heap. */
    static long clsBytes(BertModel teacher, int examples) {
        return (long) examples * (teacher.config().numHiddenLayers() + 1) * teacher.config().hiddenSize() * Float.BYTES;
    }

    /**
     * Runs the teacher over every example.
     *
     * @param withLogits keep the task-head outputs
     * @param withCls keep the [CLS] vector of the embeddings and of every layer
     * @param lengths a length proxy per example: batches are formed in length order, for speed
     * @param scope the manager under which each batch's arrays are made and freed
     */
    static TeacherCache build(BertModel teacher, ParameterStore ps, BertTokenizer tokenizer, Trainer.Examples data,
            int[] lengths, boolean withLogits, boolean withCls, NDManager scope) {
        int n = data.size();
        int outputs = withLogits ? teacher.heads().taskOutputs() : 0;
        int states = teacher.config().numHiddenLayers() + 1;
        int hidden = teacher.config().hiddenSize();
        float[][] logits = withLogits ? new float[n][] : null;
        float[][] cls = withCls ? new float[n][] : null;
        Integer[] order = new Integer[n];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingInt(i -> lengths[i]));
        String label = withCls ? "teacher outputs" : "teacher logits";
        try (ProgressBar bar = ConsoleProgress.start(label, n, 0, " examples")) {
            for (int start = 0; start < n; start += BATCH) {
                int[] idx = new int[Math.min(BATCH, n - start)];
                for (int j = 0; j < idx.length; j++) {
                    idx[j] = order[start + j];
                }
                try (NDManager s = scope.newSubManager()) {
                    EncoderOutput out = teacher.encode(ps, data.batch(tokenizer, idx).toInput(s), false);
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
                }
                bar.stepBy(idx.length);
            }
        }
        return new TeacherCache(outputs, states, hidden, logits, cls);
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
}
