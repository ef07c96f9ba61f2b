package org.distill4j.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.distill4j.DistillException;
import org.distill4j.GlueSample;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Examples;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Narrowing the real all-MiniLM-L6-v2 (6 × 384, 12 heads of 32, 1,536 neurons), read on MRPC dev pairs. */
class NarrowingTest {

    private static final List<Integer> ALL = List.of(1, 2, 3, 4, 5, 6);

    private static Checkpoint minilm;
    private static Examples pairs;

    @BeforeAll
    static void load() throws IOException {
        minilm = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<String> rows = Files.readAllLines(GlueSample.glueDir().resolve("MRPC/dev.tsv"));
        List<String> a = new ArrayList<>();
        List<String> b = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String[] f = rows.get(i + 1).split("\t");
            a.add(f[3]);
            b.add(f[4]);
        }
        pairs = new Examples(a, b, new float[16]);
    }

    /** The last hidden states of the first 16 pairs, [tokens, hidden] over the non-padded tokens. */
    private static float[][] lastHidden(Checkpoint c) {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = c.toModel(m, BertModel.Heads.NONE);
                BertTokenizer tok = c.tokenizer(128)) {
            ParameterStore ps = new ParameterStore(m, false);
            EncoderInput in = pairs.batch(tok, IntStream.range(0, 16).toArray()).toInput(m);
            NDArray h = model.encode(ps, in, false).lastHidden();
            int hidden = (int) h.getShape().get(2);
            float[] all = h.reshape(-1, hidden).toFloatArray();
            long[] mask = in.attentionMask().reshape(-1).toLongArray();
            List<float[]> kept = new ArrayList<>();
            for (int t = 0; t < mask.length; t++) {
                if (mask[t] == 1) {
                    float[] row = new float[hidden];
                    System.arraycopy(all, t * hidden, row, 0, hidden);
                    kept.add(row);
                }
            }
            return kept.toArray(new float[0][]);
        }
    }

    /** Mean over tokens of the cosine between a's state and b's state restricted to {@code dims}. */
    private static double meanCosine(float[][] a, float[][] b, int[] dims) {
        double sum = 0;
        for (int t = 0; t < a.length; t++) {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < dims.length; j++) {
                double x = a[t][j], y = b[t][dims[j]];
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            sum += dot / Math.sqrt(na * nb);
        }
        return sum / a.length;
    }

    @Test
    void narrowingToTheSourcesOwnShapeChangesNothing() {
        Checkpoint same = Narrowing.cut(minilm, ALL, 384, 12, 1536);
        assertEquals(minilm.config(), same.config());
        float[][] a = lastHidden(minilm);
        float[][] b = lastHidden(same);
        for (int t = 0; t < a.length; t++) {
            assertArrayEquals(a[t], b[t], 0f, "token " + t);
        }
    }

    @Test
    void aNarrowedStudentStillComputesMuchOfWhatItsSourceDoes() {
        Checkpoint narrow = Narrowing.cut(minilm, ALL, 312, 12, 1200);
        BertConfig c = narrow.config();
        assertEquals(312, c.hiddenSize());
        assertEquals(26, c.attentionHeadSize());
        assertEquals(1200, c.intermediateSize());
        assertEquals(6, c.numHiddenLayers());
        assertTrue(narrow.weights().tensors().keySet().stream()
                .allMatch(n -> n.startsWith("embeddings.") || n.startsWith("encoder.layer.")),
                "a task student gets a new head, not the source's pooler or heads");
        int[] dims = Narrowing.hiddenDims(minilm, 312);
        float[][] source = lastHidden(minilm);
        double kept = meanCosine(lastHidden(narrow), source, dims);
        // The same shape at random, as TinyBERT's general distillation starts.
        Engine.getInstance().setRandomSeed(3);
        Checkpoint random;
        try (NDManager m = NDManager.newBaseManager(); BertModel model = BertModel.create(c, BertModel.Heads.NONE, m)) {
            random = new Checkpoint("random", c, StateDict.of(model, "random"), minilm.tokenizerJson());
        }
        double chance = meanCosine(lastHidden(random), source, dims);
        assertTrue(kept > 0.45, "narrowed: mean cosine " + kept);
        assertTrue(Math.abs(chance) < 0.2, "random: mean cosine " + chance);
    }

    @Test
    void aResidualDimensionNoLayerReadsIsTheFirstToGo() {
        StateDict w = new StateDict("dimension 100 read by nothing");
        for (Map.Entry<String, Tensor> e : minilm.weights().tensors().entrySet()) {
            String n = e.getKey();
            Tensor t = e.getValue();
            boolean reads = n.endsWith("_embeddings.weight") || n.endsWith("query.weight") || n.endsWith("key.weight")
                    || n.endsWith("value.weight") || n.endsWith("intermediate.dense.weight");
            float[] d = t.data().clone();
            int cols = t.shape().length == 2 ? (int) t.shape()[1] : 1;
            if (reads) {
                for (int r = 0; r < t.shape()[0]; r++) {
                    d[r * cols + 100] = 0;
                }
            }
            w.put(n, new Tensor(t.shape().clone(), d));
        }
        Checkpoint unused = new Checkpoint("unused", minilm.config(), w, minilm.tokenizerJson());
        int[] all = Narrowing.hiddenDims(minilm, 384);
        assertArrayEquals(IntStream.range(0, 384).toArray(), all);
        int[] kept = Narrowing.hiddenDims(unused, 383);
        assertFalse(IntStream.of(kept).anyMatch(d -> d == 100), "dimension 100 kept");
        assertTrue(IntStream.of(Narrowing.hiddenDims(minilm, 383)).anyMatch(d -> d == 100),
                "in the real model dimension 100 is not the least used");
    }

    @Test
    void aShapeWiderThanItsSourceOrWithOtherHeadsIsRefused() {
        DistillException wide = assertThrows(DistillException.class, () -> Narrowing.cut(minilm, ALL, 480, 12, 1536));
        assertTrue(wide.getMessage().contains("wider than"), wide.getMessage());
        DistillException heads = assertThrows(DistillException.class, () -> Narrowing.cut(minilm, ALL, 312, 6, 1200));
        assertTrue(heads.getMessage().contains("keeps every head"), heads.getMessage());
        DistillException layer = assertThrows(DistillException.class,
                () -> Narrowing.cut(minilm, List.of(2, 7), 312, 12, 1200));
        assertTrue(layer.getMessage().contains("student.layers[1] is 7"), layer.getMessage());
    }
}
