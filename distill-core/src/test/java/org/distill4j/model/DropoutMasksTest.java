package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/** Dropout with masks drawn in Java: the rate, the scaling, the gradient, and the same masks from the same seed. */
class DropoutMasksTest {

    private static final float P = 0.1f;
    private static final float KEPT = 1f / (1f - P);

    @Test
    void dropsAboutPAndScalesTheRest() {
        try (NDManager m = NDManager.newBaseManager(); DropoutMasks d = DropoutMasks.seeded(7)) {
            float[] out = DropoutMasks.dropout(m.ones(new Shape(1 << 20)), P, true).toFloatArray();
            int dropped = 0;
            for (float v : out) {
                if (v == 0f) {
                    dropped++;
                } else {
                    assertEquals(KEPT, v, 0f, "a kept element is scaled by exactly 1 / (1 - p)");
                }
            }
            // Binomial(2^20, 0.1): standard deviation 307; six of them either way.
            assertEquals(0.1 * (1 << 20), dropped, 6 * 307.2);
        }
    }

    /** Chunks drawn on different threads are independent: no chunk repeats another, shifted or not. */
    @Test
    void chunksAreIndependent() {
        float[] mask = draw(5);
        int chunk = 1 << 18;
        for (int shift = -4; shift <= 4; shift++) {
            int agree = 0;
            int n = 0;
            for (int i = 8; i < chunk - 8; i++) {
                agree += (mask[i] == 0f) == (mask[chunk + i + shift] == 0f) ? 1 : 0;
                n++;
            }
            // Independent Bernoulli(0.1) pairs agree with probability 0.1² + 0.9² = 0.82.
            assertEquals(0.82, (double) agree / n, 0.01, "chunk 2 against chunk 1 shifted by " + shift);
        }
    }

    @Test
    void sameSeedSameMasksWhateverTheThreads() throws Exception {
        float[] one = new ForkJoinPool(1).submit(() -> draw(42)).get();
        float[] four = new ForkJoinPool(4).submit(() -> draw(42)).get();
        assertArrayEquals(one, four);
        assertFalse(Arrays.equals(one, draw(43)), "another seed, other masks");
    }

    /** Two calls in one scope draw different masks, and a scope's masks start over with its seed. */
    private static float[] draw(long seed) {
        try (NDManager m = NDManager.newBaseManager(); DropoutMasks d = DropoutMasks.seeded(seed)) {
            NDArray x = m.ones(new Shape(3, 300_000)); // more than one chunk, an odd number per row
            float[] first = DropoutMasks.dropout(x, P, true).toFloatArray();
            float[] second = DropoutMasks.dropout(x, P, true).toFloatArray();
            assertFalse(Arrays.equals(first, second));
            return first;
        }
    }

    @Test
    void gradientIsTheMask() {
        try (NDManager m = NDManager.newBaseManager(); DropoutMasks d = DropoutMasks.seeded(3)) {
            NDArray x = m.randomUniform(1f, 2f, new Shape(64, 128));
            x.setRequiresGradient(true);
            NDArray y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                y = DropoutMasks.dropout(x, P, true);
                gc.backward(y.sum());
            }
            float[] out = y.toFloatArray();
            float[] in = x.toFloatArray();
            float[] grad = x.getGradient().toFloatArray();
            for (int i = 0; i < out.length; i++) {
                assertEquals(out[i] == 0f ? 0f : KEPT, grad[i], 0f);
                assertEquals(out[i] == 0f ? 0f : in[i] * KEPT, out[i], 0f);
            }
        }
    }

    @Test
    void identityOutsideTrainingAndLibtorchOutsideAScope() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(1 << 16));
            try (DropoutMasks d = DropoutMasks.seeded(1)) {
                assertArrayEquals(x.toFloatArray(), DropoutMasks.dropout(x, P, false).toFloatArray());
            }
            // No scope: libtorch's own dropout, same rate.
            float[] out = DropoutMasks.dropout(x, P, true).toFloatArray();
            long dropped = 0;
            for (float v : out) {
                dropped += v == 0f ? 1 : 0;
            }
            assertTrue(Math.abs(dropped - 0.1 * (1 << 16)) < 6 * 76.8, "dropped " + dropped);
        }
    }
}
