package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdamW, the schedule and the sampler against values worked out by hand (β1 0.9, β2 0.999, ε 1e-6
 * added to the bias-corrected √v, as in BERT's optimizer). Tolerances: float32 arithmetic on
 * values near 1, a few ulps.
 */
class AdamWTest {

    @TempDir
    Path tmp;

    private static Parameter param(NDManager m, String name, float... values) {
        NDArray a = m.create(values);
        a.setRequiresGradient(true);
        return Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).optArray(a).build();
    }

    /** The parameters by name, in the given order. */
    private static Map<String, Parameter> byName(Parameter... ps) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Parameter p : ps) {
            out.put(p.getName(), p);
        }
        return out;
    }

    /** Sets each parameter's gradient to {@code grads[i]} through a backward pass of Σ g·w. */
    private static void gradients(NDManager m, List<Parameter> params, float[]... grads) {
        try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = null;
            for (int i = 0; i < params.size(); i++) {
                NDArray w = params.get(i).getArray();
                NDArray term = w.mul(s.create(grads[i], w.getShape())).sum();
                loss = loss == null ? term : loss.add(term);
            }
            gc.backward(loss);
        }
    }

    @Test
    void biasCorrectionMakesEarlyStepsFullSize() {
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter w = param(m, "dense.bias", 1f);
            Map<String, Parameter> params = Map.of("dense.bias", w);
            try (AdamW adam = new AdamW(params, 0.01f, m)) {
                // Step 1, g = 1: m = 0.1, v = 0.001; m̂ = 1, √v̂ = 1: w = 1 − 0.1 · 1/(1 + 1e-6) = 0.9000001.
                gradients(m, List.of(w), new float[] {1f});
                adam.step(0.1f, 0);
                assertEquals(0.9000001f, w.getArray().getFloat(), 2e-7f);
                // Step 2, g = 3: m = 0.39, v = 0.009999; m̂ = 0.39/0.19 = 2.0526, √v̂ = √(0.009999/0.001999) = 2.2365;
                // w = 0.9000001 − 0.1 · 0.917780 = 0.8082220. A bias: no decay.
                gradients(m, List.of(w), new float[] {3f});
                adam.step(0.1f, 0);
                assertEquals(0.8082220f, w.getArray().getFloat(), 3e-7f);
                assertEquals(2, adam.steps());
            }
        }
    }

    @Test
    void decayIsDecoupledAndSkipsBiasesAndLayerNorm() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, Parameter> params = byName(param(m, "dense.weight", 2f), param(m, "dense.bias", 2f),
                    param(m, "LayerNorm.weight", 2f));
            try (AdamW adam = new AdamW(params, 0.01f, m)) {
                // Zero gradients: Adam moves nothing, so only the decay acts: 2 · (1 − 0.1 · 0.01) = 1.998.
                gradients(m, List.copyOf(params.values()), new float[] {0f}, new float[] {0f}, new float[] {0f});
                adam.step(0.1f, 0);
                assertEquals(1.998f, params.get("dense.weight").getArray().getFloat(), 1e-7f);
                assertEquals(2f, params.get("dense.bias").getArray().getFloat(), 0f);
                assertEquals(2f, params.get("LayerNorm.weight").getArray().getFloat(), 0f);
            }
        }
    }

    @Test
    void gradientsAreClippedToTheGlobalNormBeforeTheMoments() {
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter a = param(m, "a.weight", 0f, 0f);
            Parameter b = param(m, "b.bias", 0f);
            Map<String, Parameter> params = byName(a, b);
            try (AdamW adam = new AdamW(params, 0f, m)) {
                // g = [3, 4] and [0]: norm 5, clipped to 1 by × 1/(5 + 1e-6); m = 0.1 · g' = [0.06, 0.08], 0.
                gradients(m, List.of(a, b), new float[] {3f, 4f}, new float[] {0f});
                assertEquals(5f, adam.step(0.1f, 1f), 1e-6f);
                adam.save(tmp.resolve("moments.safetensors"));
                StateDict moments = Safetensors.read(tmp.resolve("moments.safetensors"));
                assertArrayEquals(new float[] {0.06f, 0.08f}, moments.get("m.a.weight").data(), 1e-8f);
                // v = (1 − β2) · g'² = [0.00036, 0.00064], to 1.3e-5 relative: β2 = 0.999 is 0.99900001 in float32.
                assertArrayEquals(new float[] {0.00036f, 0.00064f}, moments.get("v.a.weight").data(), 1e-8f);
                assertArrayEquals(new float[] {0f}, moments.get("m.b.bias").data(), 0f);
            }
        }
    }

    @Test
    void gradientSquaresNameEachParameterAndKeepNonFiniteOnes() {
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter a = param(m, "a.weight", 1f, 1f);
            Parameter b = param(m, "b.bias", 1f);
            Map<String, Parameter> params = byName(a, b);
            try (AdamW adam = new AdamW(params, 0f, m)) {
                gradients(m, List.of(a, b), new float[] {3f, 4f}, new float[] {Float.NaN});
                assertEquals(List.of("a.weight", "b.bias"), adam.names());
                double[] sq = adam.gradientSquares();
                assertEquals(25.0, sq[0], 0.0);
                assertTrue(Double.isNaN(sq[1]), "a NaN gradient gives a NaN square: " + sq[1]);
                // Reading them changes nothing: the step still sees the NaN and skips.
                assertFalse(Float.isFinite(adam.step(0.1f, 0)));
                assertEquals(List.of("b.bias (max |g| NaN)"), adam.nonFiniteParameters());
                assertEquals(1f, a.getArray().getFloat(0), 0f);
            }
        }
    }

    @Test
    void slicedUpdatesEqualWholeOnesBitForBit() {
        // A [10, 3] parameter updated whole, and in slices of at most 7 elements (rows 0-1, 2-3, ...).
        float[] start = new float[30];
        float[][] grads = new float[3][30];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < 30; i++) {
            start[i] = (float) r.nextGaussian();
            for (float[] g : grads) {
                g[i] = (float) r.nextGaussian();
            }
        }
        float[][] after = new float[2][];
        for (int k = 0; k < 2; k++) {
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray a = m.create(start, new ai.djl.ndarray.types.Shape(10, 3));
                a.setRequiresGradient(true);
                Parameter p = Parameter.builder().setName("w.weight").setType(Parameter.Type.WEIGHT).optArray(a).build();
                try (AdamW adam = new AdamW(Map.of("w.weight", p), 0.9f, 0.999f, 1e-6f, 0.01f, m, k == 0 ? 1000 : 7)) {
                    for (float[] g : grads) {
                        gradients(m, List.of(p), g);
                        adam.step(0.1f, 1f); // the norm exceeds 1: clipped as well
                    }
                }
                after[k] = p.getArray().toFloatArray();
            }
        }
        assertArrayEquals(after[0], after[1], 0f);
        assertFalse(java.util.Arrays.equals(start, after[1]), "the parameter moved");
    }

    @Test
    void linearScheduleWarmsUpThenDecaysToZero() {
        // Peak 1, 2 warm-up steps of 10: 0.5, 1, then 1 · (10 − s)/8 for s = 2..9.
        LinearSchedule s = new LinearSchedule(1f, 2, 10);
        assertEquals(0.5f, s.at(0));
        assertEquals(1f, s.at(1));
        assertEquals(1f, s.at(2));
        assertEquals(0.625f, s.at(5));
        assertEquals(0.125f, s.at(9));
        assertEquals(0f, s.at(10));
        // 10% of 25 updates rounds to 3 warm-up steps.
        assertEquals(3, LinearSchedule.withWarmupFraction(1f, 0.1, 25).warmupSteps());
    }

    @Test
    void lengthBucketsHoldSimilarLengthsAndEveryExampleOnce() {
        // 10 examples of lengths 0..9 in batches of 3: 4 batches (3, 3, 3, 1), one pool, so each batch is a run
        // of consecutive lengths in the sorted order: {0,1,2}, {3,4,5}, {6,7,8}, {9}, in a shuffled order.
        int[] lengths = {9, 0, 8, 1, 7, 2, 6, 3, 5, 4};
        LengthBucketSampler sampler = new LengthBucketSampler(lengths, 3, 1);
        assertEquals(4, sampler.batchesPerEpoch());
        List<int[]> batches = sampler.epoch(0);
        List<List<Integer>> byLength = batches.stream().map(b -> java.util.Arrays.stream(b).map(i -> lengths[i])
                .sorted().boxed().toList()).sorted(java.util.Comparator.comparing(l -> l.get(0))).toList();
        assertEquals(List.of(List.of(0, 1, 2), List.of(3, 4, 5), List.of(6, 7, 8), List.of(9)), byLength);
        // Same seed and epoch, same batches; another epoch, another order.
        assertEquals(batches.stream().map(java.util.Arrays::toString).toList(),
                sampler.epoch(0).stream().map(java.util.Arrays::toString).toList());
    }
}
