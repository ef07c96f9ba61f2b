package org.distill4j.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.distill4j.GlueSample;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.ForwardOptions;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Examples;
import org.distill4j.train.SubNetwork;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Importance, rewiring and extraction on the real all-MiniLM-L6-v2 (6 layers, 12 heads, 1,536
 * neurons) with a two-class head, on MRPC dev pairs with their labels.
 */
class ImportanceRewiringExtractionTest {

    private static final BertModel.Heads PAIR = new BertModel.Heads(false, false, 2);

    private static Checkpoint withHead;
    private static Examples pairs;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        Checkpoint base = Checkpoint.load("builtin:all-minilm-l6-v2");
        // A fixed random head, part of the checkpoint so every model made from it is the same.
        Engine.getInstance().setRandomSeed(5);
        try (NDManager m = NDManager.newBaseManager(); BertModel model = base.toModel(m, PAIR)) {
            withHead = new Checkpoint(base.name(), base.config(), StateDict.of(model, "with head"),
                    base.tokenizerJson());
        }
        List<String> rows = Files.readAllLines(GlueSample.glueDir().resolve("MRPC/dev.tsv"));
        List<String> a = new ArrayList<>();
        List<String> b = new ArrayList<>();
        float[] y = new float[48];
        for (int i = 0; i < 48; i++) {
            String[] f = rows.get(i + 1).split("\t");
            y[i] = Float.parseFloat(f[0]);
            a.add(f[3]);
            b.add(f[4]);
        }
        pairs = new Examples(a, b, y);
    }

    private static Checkpoint zeroed(Checkpoint c, String tensor, int column, int width) {
        StateDict w = new StateDict("zeroed");
        c.weights().tensors().forEach(w::put);
        Tensor t = w.get(tensor);
        float[] d = t.data().clone();
        int cols = (int) t.shape()[1];
        for (int r = 0; r < t.shape()[0]; r++) {
            for (int j = column; j < column + width; j++) {
                d[r * cols + j] = 0;
            }
        }
        w.put(tensor, new Tensor(t.shape().clone(), d));
        return new Checkpoint(c.name(), c.config(), w, c.tokenizerJson());
    }

    private static Importance measure(Checkpoint c) {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = c.toModel(m, PAIR);
                BertTokenizer tok = c.tokenizer(128)) {
            return Importance.measure(model, tok, pairs, false, 16, n -> {});
        }
    }

    private static float[] logits(Checkpoint c, ForwardOptions options) {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = c.toModel(m, PAIR);
                BertTokenizer tok = c.tokenizer(128)) {
            ParameterStore ps = new ParameterStore(m, false);
            EncoderInput in = pairs.batch(tok, IntStream.range(0, 16).toArray()).toInput(m);
            ForwardOptions o = options == null ? ForwardOptions.ALL : options;
            return model.classify(ps, model.encode(ps, in, o, false), false).toFloatArray();
        }
    }

    @Test
    void aHeadOrNeuronThatContributesNothingHasZeroImportance() {
        // Head 5 of layer 2 writes nothing (its output columns are zero); so does neuron 7 of layer 1.
        int hs = withHead.config().attentionHeadSize();
        Checkpoint c = zeroed(zeroed(withHead, "encoder.layer.2.attention.output.dense.weight", 5 * hs, hs),
                "encoder.layer.1.output.dense.weight", 7, 1);
        Importance imp = measure(c);
        assertEquals(48, imp.examples());
        assertEquals(0f, imp.heads()[2][5]);
        assertEquals(0f, imp.neurons()[1][7]);
        long live = IntStream.range(0, 12).filter(h -> imp.heads()[2][h] > 0).count();
        assertEquals(11, live, "every other head of the layer matters a little");
        assertEquals(5, imp.headOrder(2)[11], "the dead head comes last");

        Path file = tmp.resolve("importance.json");
        imp.write(file);
        Importance back = Importance.read(file);
        assertArrayEquals(imp.heads()[3], back.heads()[3]);
        assertArrayEquals(imp.neurons()[5], back.neurons()[5]);
    }

    @Test
    void rewiringKeepsTheFunctionAndPutsImportantHeadsFirst() {
        Importance imp = measure(withHead);
        Checkpoint rewired = Rewiring.apply(withHead, imp);
        assertFalse(java.util.Arrays.equals(imp.headOrder(0), IntStream.range(0, 12).toArray()),
                "a real order, not the identity");
        float[] before = logits(withHead, null);
        float[] after = logits(rewired, null);
        assertArrayEquals(before, after, 1e-5f);
        Importance again = measure(rewired);
        for (int l = 0; l < 6; l++) {
            for (int h = 1; h < 12; h++) {
                assertTrue(again.heads()[l][h - 1] >= again.heads()[l][h] * 0.999f, "layer " + l + " head " + h);
            }
        }
    }

    @Test
    void pruningCutsTheLeastImportantHeadsAndNeuronsAndKeepsWhatTheMaskedModelComputes() {
        Importance imp = measure(withHead);
        Checkpoint pruned = StructuredPruning.apply(withHead, imp, 0.5, 0.25);
        assertEquals(6, pruned.config().numAttentionHeads());
        assertEquals(1152, pruned.config().intermediateSize());
        assertEquals(6, pruned.config().numHiddenLayers());
        // The same model with the removed heads and neurons masked to zero, in place.
        float[] heads = new float[6 * 12];
        float[] neurons = new float[6 * 1536];
        for (int l = 0; l < 6; l++) {
            int[] h = imp.headOrder(l);
            int[] n = imp.neuronOrder(l);
            for (int i = 0; i < 6; i++) {
                heads[l * 12 + h[i]] = 1;
            }
            for (int i = 0; i < 1152; i++) {
                neurons[l * 1536 + n[i]] = 1;
            }
        }
        float[] masked;
        try (NDManager m = NDManager.newBaseManager()) {
            masked = logits(withHead, new ForwardOptions(m.create(heads, new ai.djl.ndarray.types.Shape(6, 12)),
                    m.create(neurons, new ai.djl.ndarray.types.Shape(6, 1536)), null));
        }
        assertArrayEquals(masked, logits(pruned, null), 1e-5f);
    }

    @Test
    void anExtractedSubNetworkComputesWhatTheMaskedSupernetDoesAndReloads() throws IOException {
        Checkpoint rewired = Rewiring.apply(withHead, measure(withHead));
        Checkpoint small = Extraction.subNetwork(rewired, 0.5, 0.5);
        assertEquals(3, small.config().numHiddenLayers());
        assertEquals(6, small.config().numAttentionHeads());
        assertEquals(768, small.config().intermediateSize());
        int[] layers = SubNetwork.depthLayers(0.5, 6);
        assertArrayEquals(new int[] {0, 2, 4}, layers);
        float[] masked;
        try (NDManager m = NDManager.newBaseManager()) {
            masked = logits(rewired, new SubNetwork("w0.5 d0.5", layers, 0.5, 0.5).options(m, rewired.config()));
        }
        assertArrayEquals(masked, logits(small, null), 1e-5f);

        Path dir = tmp.resolve("w0.5-d0.5");
        HfModelDirectory.write(small, dir);
        var config = Json.MAPPER.readTree(dir.resolve("config.json").toFile());
        assertEquals(12, config.get("num_attention_heads").asInt(), "as HuggingFace counts them: before pruning");
        assertEquals("[6,7,8,9,10,11]", config.get("pruned_heads").get("2").toString());
        Checkpoint reloaded = Checkpoint.load(dir.toString());
        assertEquals(small.config(), reloaded.config());
        assertArrayEquals(masked, logits(reloaded, null), 1e-5f);
        try (NDManager m = NDManager.newBaseManager(); BertModel big = withHead.toModel(m, PAIR);
                BertModel cut = reloaded.toModel(m, PAIR)) {
            assertTrue(cut.parameterCount() < big.parameterCount() * 0.8, cut.parameterCount() + " of "
                    + big.parameterCount());
        }
    }
}
