package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.List;
import org.distill4j.GlueSample;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the encoder exposes, on the real all-MiniLM-L6-v2 weights and real GLUE text. */
class BertEncoderTest {

    static NDManager manager;
    static BertModel model;
    static BertTokenizer tokenizer;
    static ParameterStore ps;

    @BeforeAll
    static void load() {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        manager = NDManager.newBaseManager();
        model = ckpt.toModel(manager);
        tokenizer = ckpt.tokenizer(128);
        ps = new ParameterStore(manager, false);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        model.close();
        manager.close();
    }

    private static TokenBatch batch(List<GlueSample.Text> texts) {
        return tokenizer.batch(texts.stream().map(GlueSample.Text::first).toList(),
                texts.get(0).second() == null ? null : texts.stream().map(GlueSample.Text::second).toList());
    }

    @Test
    void outputExposesEveryLayerAndAttention() {
        TokenBatch b = batch(GlueSample.dev("SST-2", 0, -1, 4));
        try (NDManager step = manager.newSubManager()) {
            EncoderOutput out = model.encode(ps, b.toInput(step), false);
            assertEquals(7, out.hiddenStates().size());
            assertEquals(6, out.attentionProbs().size());
            Shape att = new Shape(4, 12, b.sequenceLength(), b.sequenceLength());
            assertEquals(att, out.attentionProbs().get(0).getShape());
            assertEquals(att, out.attentionScores().get(5).getShape());
            assertEquals(new Shape(4, 384), out.cls(3).getShape());
            // Rows are distributions; padding keys get exactly zero.
            NDArray sums = out.attentionProbs().get(2).sum(new int[] {-1});
            assertTrue(sums.sub(1f).abs().max().getFloat() < 1e-5);
            int shortest = 0;
            for (int i = 1; i < 4; i++) {
                shortest = b.length(i) < b.length(shortest) ? i : shortest;
            }
            float padMass = out.attentionProbs().get(0).get(shortest).get(":, :, " + b.length(shortest) + ":").sum()
                    .getFloat();
            assertEquals(0f, padMass, 0f);
        }
    }

    @Test
    void leanForwardGivesTheFullForwardsLastStateAndReleasesTheRest() {
        TokenBatch b = batch(GlueSample.dev("RTE", 1, 2, 4));
        try (NDManager step = manager.newSubManager(); NDManager lean = manager.newSubManager()) {
            float[] full = model.encode(ps, b.toInput(step), false).lastHidden().toFloatArray();
            EncoderInput input = b.toInput(lean);
            int inputs = lean.getManagedArrays().size();
            NDArray last = model.lastHidden(ps, input, false);
            assertArrayEquals(full, last.toFloatArray(), 0f);
            // Nothing but the result outlives the forward: no layer's attentions or states.
            assertEquals(inputs + 1, lean.getManagedArrays().size());
        }
    }

    @Test
    void paddingDoesNotChangeRealTokens() {
        List<GlueSample.Text> texts = GlueSample.dev("RTE", 1, 2, 4);
        TokenBatch all = batch(texts);
        try (NDManager step = manager.newSubManager()) {
            float[] batched = model.encode(ps, all.toInput(step), false).lastHidden().toFloatArray();
            for (int i = 0; i < texts.size(); i++) {
                TokenBatch alone = batch(texts.subList(i, i + 1));
                float[] single = model.encode(ps, alone.toInput(step), false).lastHidden().toFloatArray();
                for (int t = 0; t < alone.length(0) * 384; t++) {
                    float x = batched[i * all.sequenceLength() * 384 + t];
                    assertEquals(single[t], x, 2e-5, "row " + i + " element " + t);
                }
            }
        }
    }

    @Test
    void zeroHeadMaskSilencesThatHeadAndOnesChangeNothing() {
        TokenBatch b = batch(GlueSample.dev("MRPC", 3, 4, 2));
        try (NDManager step = manager.newSubManager()) {
            var in = b.toInput(step);
            float[] plain = model.encode(ps, in, false).lastHidden().toFloatArray();
            NDArray ones = step.ones(new Shape(6, 12));
            float[] masked = model.encode(ps, in, ForwardOptions.ALL.withHeadMask(ones)
                    .withFfnMask(step.ones(new Shape(6, 1536))), false).lastHidden().toFloatArray();
            assertArrayEquals(plain, masked, 1e-6f);
            NDArray headMask = step.ones(new Shape(6, 12));
            headMask.set(new ai.djl.ndarray.index.NDIndex("1, 3"), 0f);
            EncoderOutput out = model.encode(ps, in, ForwardOptions.ALL.withHeadMask(headMask), false);
            assertEquals(0f, out.attentionProbs().get(1).get(":, 3").abs().sum().getFloat(), 0f);
            assertTrue(out.attentionProbs().get(1).get(":, 4").sum().getFloat() > 0);
            NDArray ffn = step.ones(new Shape(6, 1536));
            ffn.set(new ai.djl.ndarray.index.NDIndex("0, :768"), 0f);
            float[] cut = model.encode(ps, in, ForwardOptions.ALL.withFfnMask(ffn), false).lastHidden()
                    .toFloatArray();
            double diff = 0;
            for (int i = 0; i < cut.length; i++) {
                diff = Math.max(diff, Math.abs(cut[i] - plain[i]));
            }
            assertTrue(diff > 1e-2, "masking half the FFN neurons of layer 0 should change the output");
        }
    }

    @Test
    void runsAChosenSubsetOfLayers() {
        TokenBatch b = batch(GlueSample.dev("SST-2", 0, -1, 2));
        try (NDManager step = manager.newSubManager()) {
            var in = b.toInput(step);
            EncoderOutput full = model.encode(ps, in, false);
            EncoderOutput firstTwo = model.encode(ps, in, ForwardOptions.layers(0, 1), false);
            assertEquals(2, firstTwo.layers());
            assertArrayEquals(full.hiddenStates().get(2).toFloatArray(), firstTwo.lastHidden().toFloatArray(), 0f);
            EncoderOutput skip = model.encode(ps, in, ForwardOptions.layers(0, 2, 4), false);
            assertEquals(3, skip.layers());
            // States keep the numbers of the full model: layers 1, 3, 5 ran; 2 did not.
            assertArrayEquals(new int[] {0, 1, 3, 5}, skip.layerNumbers());
            assertArrayEquals(skip.hiddenStates().get(2).toFloatArray(), skip.hidden(3).toFloatArray(), 0f);
            assertArrayEquals(full.hidden(1).toFloatArray(), skip.hidden(1).toFloatArray(), 0f);
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> skip.hidden(2));
            assertEquals("layer 2 did not run in this forward pass; its layers were [1, 3, 5] (0 is the embeddings)",
                    missing.getMessage());
            assertThrows(IllegalArgumentException.class, () -> skip.probs(2));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.encode(ps, in, ForwardOptions.layers(0, 6), false));
            assertTrue(e.getMessage().contains("layer 6 does not exist"), e.getMessage());
        }
    }

    @Test
    void dropoutActsOnlyInTraining() {
        TokenBatch b = batch(GlueSample.dev("SST-2", 0, -1, 2));
        try (NDManager step = manager.newSubManager()) {
            var in = b.toInput(step);
            float[] eval1 = model.encode(ps, in, false).lastHidden().toFloatArray();
            float[] eval2 = model.encode(ps, in, false).lastHidden().toFloatArray();
            assertArrayEquals(eval1, eval2, 0f);
            float[] train = model.encode(ps, in, true).lastHidden().toFloatArray();
            double diff = 0;
            for (int i = 0; i < train.length; i++) {
                diff = Math.max(diff, Math.abs(train[i] - eval1[i]));
            }
            assertTrue(diff > 1e-3, "dropout should perturb outputs in training mode");
        }
    }
}
