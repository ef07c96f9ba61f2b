package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.GlueSample;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;

/**
 * Several sub-network forwards per micro-batch (DynaBERT's step): their gradients add up to the
 * sum of the separate backward passes. On 8 real MRPC pairs, a random 2-layer student without
 * dropout (so that each forward is the same computation alone or in company).
 */
class StepObjectiveTest {

    private static final List<SubNetwork> PARTS = List.of(SubNetwork.FULL, SubNetwork.width(0.5),
            SubNetwork.depth("bottom", 0));

    @Test
    void accumulatedGradientEqualsTheSumOfSeparateBackwardPasses() {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<GlueSample.Text> texts = GlueSample.dev("MRPC", 3, 4, 8);
        float[] labels = {0, 1, 1, 0, 1, 0, 0, 1};
        Examples data = new Examples(texts.stream().map(GlueSample.Text::first).toList(),
                texts.stream().map(GlueSample.Text::second).toList(), labels);
        BertConfig config = new BertConfig(ckpt.config().vocabSize(), 64, 2, 4, 16, 128, "gelu", 512, 2, 1e-12f, 0f,
                0f);
        Engine.getInstance().setRandomSeed(3);
        try (NDManager root = NDManager.newBaseManager();
                BertModel student = BertModel.create(config, new BertModel.Heads(false, false, 2), root);
                BertTokenizer tok = ckpt.tokenizer(64)) {
            ParameterStore ps = new ParameterStore(root, false);
            int[] idx = {0, 1, 2, 3, 4, 5, 6, 7};
            Map<String, Float> together = new LinkedHashMap<>();
            Map<String, float[]> accumulated = gradients(student, tok, data, ps, idx, StepObjective.over(
                    PARTS.toArray(SubNetwork[]::new)), together);
            Map<String, float[]> sum = new LinkedHashMap<>();
            float lossSum = 0;
            for (SubNetwork part : PARTS) {
                Map<String, Float> alone = new LinkedHashMap<>();
                gradients(student, tok, data, ps, idx, StepObjective.over(part), alone).forEach((k, g) -> {
                    float[] s = sum.computeIfAbsent(k, x -> new float[g.length]);
                    for (int i = 0; i < g.length; i++) {
                        s[i] += g[i];
                    }
                });
                lossSum += alone.get("loss");
                // Each sub-network's term is logged under its own name when there are several.
                assertEquals(alone.get("hard"), together.get("hard@" + part.name()), 0f, part.name());
            }
            assertEquals(lossSum, together.get("loss"), 1e-6f * Math.abs(lossSum));
            int compared = 0;
            for (Map.Entry<String, float[]> e : accumulated.entrySet()) {
                float[] a = e.getValue();
                float[] b = sum.get(e.getKey());
                for (int i = 0; i < a.length; i++) {
                    // Autograd adds the three gradients in the same order as this loop: a few ulps at most.
                    assertEquals(b[i], a[i], 1e-6f * Math.max(1f, Math.abs(b[i])), e.getKey() + "[" + i + "]");
                }
                compared += a.length;
            }
            assertEquals(student.parameterCount(), compared);
            // The narrow and shallow parts really are other computations: the sum is not three times one of them.
            Map<String, float[]> full = gradients(student, tok, data, ps, idx, StepObjective.SINGLE, new LinkedHashMap<>());
            float[] q = full.get("encoder.layer.1.attention.self.query.weight");
            float[] qs = sum.get("encoder.layer.1.attention.self.query.weight");
            double extra = 0;
            double own = 0;
            for (int i = 0; i < q.length; i++) {
                extra += (qs[i] - q[i]) * (double) (qs[i] - q[i]);
                own += q[i] * (double) q[i];
            }
            // The half-width forward adds a gradient of its own size to layer 1 (the bottom-layer one adds none).
            boolean differs = Math.sqrt(extra) > 0.1 * Math.sqrt(own);
            assertTrue(differs, "the half-width and bottom-layer forwards changed nothing in layer 1's query");
        }
    }

    /** The gradients of one micro-batch under {@code objective}, read and then cleared. */
    private static Map<String, float[]> gradients(BertModel student, BertTokenizer tok, Examples data,
            ParameterStore ps, int[] idx, StepObjective objective, Map<String, Float> values) {
        Stage stage = Stage.of("s", List.of(WeightedTerm.of(new HardLabelLoss(), 1f))).objective(objective).build();
        UpdateStep step = new UpdateStep(student, null, stage, null, data, false, 1, 0, null);
        assertTrue(step.gradients(ps, i -> idx, i -> data.batch(tok, idx), 0, 1, 0, 1, values));
        Map<String, float[]> g = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : student.namedParameters().entrySet()) {
            try (NDArray grad = e.getValue().getArray().getGradient()) {
                g.put(e.getKey(), grad.toFloatArray());
            }
            JniUtils.zeroGrad((PtNDArray) e.getValue().getArray()); // clear for the next computation
        }
        return g;
    }
}
