package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.List;
import org.distill4j.GlueSample;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;

/** LoRA on the real all-MiniLM-L6-v2: query and value of every layer, rank 8, alpha 16. */
class LoraLinearTest {

    private static final String[] TARGETS = {"attention.self.query", "attention.self.value"};

    private static void adapt(BertModel model) {
        for (int l = 0; l < model.config().numHiddenLayers(); l++) {
            for (String t : TARGETS) {
                model.replace("encoder.layer." + l + "." + t, base -> new LoraLinear(base, 8, 16f, 0.1f));
            }
        }
        model.initializeNew();
    }

    @Test
    void aFreshAdapterChangesNothingAndMergingGivesTheSameOutputs() {
        Engine.getInstance().setRandomSeed(30); // the adapters' A and the "trained" B below are random
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<GlueSample.Text> texts = GlueSample.dev("MRPC", 3, 4, 8);
        try (NDManager m = NDManager.newBaseManager();
                BertModel plain = ckpt.toModel(m, BertModel.Heads.NONE);
                BertModel adapted = ckpt.toModel(m, BertModel.Heads.NONE);
                BertTokenizer tok = ckpt.tokenizer(128)) {
            TokenBatch batch = tok.batch(texts.stream().map(GlueSample.Text::first).toList(),
                    texts.stream().map(GlueSample.Text::second).toList());
            ParameterStore ps = new ParameterStore(m, false);
            float[] before = plain.lastHidden(ps, batch.toInput(m), false).toFloatArray();
            adapt(adapted);
            var names = adapted.namedParameters().keySet();
            assertTrue(names.contains("encoder.layer.0.attention.self.query.lora_A.weight"), names.toString());
            assertTrue(names.contains("encoder.layer.5.attention.self.value.lora_B.weight"), names.toString());
            assertTrue(names.contains("encoder.layer.0.attention.self.query.weight"), "the base keeps its name");
            assertEquals(plain.namedParameters().size() + 6 * 2 * 2, names.size());
            assertArrayEquals(before, adapted.lastHidden(ps, batch.toInput(m), false).toFloatArray(), 0f,
                    "B starts at zero: a fresh adapter is the identity");

            // A trained adapter (B no longer zero), then folded into the base weights of the plain model.
            for (var e : adapted.namedParameters().entrySet()) {
                if (e.getKey().endsWith("lora_B.weight")) {
                    NDArray b = e.getValue().getArray();
                    b.set(m.randomNormal(0f, 0.02f, b.getShape(), b.getDataType()).toFloatArray());
                }
            }
            float[] unmerged = adapted.lastHidden(ps, batch.toInput(m), false).toFloatArray();
            assertTrue(maxDiff(before, unmerged) > 1e-3, "the adapter must now matter");
            for (int l = 0; l < 6; l++) {
                for (String t : TARGETS) {
                    String path = "encoder.layer." + l + "." + t;
                    LoraLinear lora = (LoraLinear) adapted.modules().get(path);
                    NDArray w = plain.namedParameters().get(path + ".weight").getArray();
                    w.addi(lora.delta());
                }
            }
            float[] merged = plain.lastHidden(ps, batch.toInput(m), false).toFloatArray();
            // Six layers of fp32 rounding in another order: within 1e-4 of the outputs' scale. Random
            // adapters gave 3e-6 to 3.5e-5 of it; a merge that drops alpha / r is off by 7e-2.
            double scale = 0;
            for (float v : unmerged) {
                scale = Math.max(scale, Math.abs(v));
            }
            assertTrue(maxDiff(unmerged, merged) < 1e-4 * scale, "merged differs by " + maxDiff(unmerged, merged)
                    + " on outputs up to " + scale);
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
