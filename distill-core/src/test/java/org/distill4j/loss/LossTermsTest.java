package org.distill4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import java.util.Set;
import org.distill4j.DistillException;
import org.distill4j.mapping.LayerMapping;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each loss against values worked out by hand on tiny tensors (the arithmetic is in the comments).
 * Tolerance 1e-6: float32 evaluation of a handful of exp/log terms.
 */
class LossTermsTest {

    static final double TOL = 1e-6;
    NDManager m;

    @BeforeEach
    void open() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        m.close();
    }

    private NDArray a(float[] v, long... shape) {
        return m.create(v, new Shape(shape));
    }

    @Test
    void softTargetIsTemperatureScaledKl() {
        // T = 2: p_s = softmax([0.5, 1, 1.5]) = [0.1863, 0.3072, 0.5065], p_t = reversed;
        // KL(p_t || p_s) = 0.5065·ln(0.5065/0.1863) + 0.3072·0 + 0.1863·ln(0.1863/0.5065) = 0.32016; × T² = 1.28063.
        NDArray s = a(new float[] {1, 2, 3}, 1, 3);
        NDArray t = a(new float[] {3, 2, 1}, 1, 3);
        assertEquals(1.2806266713, SoftTargetLoss.of(s, t, 2f, false).getFloat(), TOL);
        assertEquals(0, SoftTargetLoss.of(s, s, 2f, false).getFloat(), TOL);
        // Regression: the squared difference of the predictions, (2.5 − 1)² averaged with 0.
        assertEquals(1.125, SoftTargetLoss.of(a(new float[] {2.5f, 0}, 2, 1), a(new float[] {1, 0}, 2, 1), 2f, true)
                .getFloat(), TOL);
        assertThrows(IllegalArgumentException.class, () -> new SoftTargetLoss(0));
    }

    @Test
    void hardLabelIsCrossEntropyOrMse() {
        // CE of [2, 0] for class 0 is ln(1 + e^-2) = 0.126928; of [0, 1] for class 1 is ln(1 + e^-1) = 0.313262.
        NDArray logits = a(new float[] {2, 0, 0, 1}, 2, 2);
        assertEquals(0.2200948493, HardLabelLoss.of(logits, a(new float[] {0, 1}, 2), false).getFloat(), TOL);
        // MSE of predictions [1, 3] against [0, 5]: (1 + 4) / 2.
        assertEquals(2.5, HardLabelLoss.of(a(new float[] {1, 3}, 2, 1), a(new float[] {0, 5}, 2), true).getFloat(),
                TOL);
    }

    @Test
    void hiddenMseIgnoresPadding() {
        // One sequence of two tokens, the second padding: only (1² + 2²) / 2 counts.
        NDArray s = a(new float[] {1, 2, 30, 40}, 1, 2, 2);
        NDArray t = a(new float[] {0, 0, 0, 0}, 1, 2, 2);
        assertEquals(2.5, HiddenMseLoss.of(s, t, a(new float[] {1, 0}, 1, 2)).getFloat(), TOL);
    }

    @Test
    void cosineIsOneMinusCosineOverRealTokens() {
        // Token 1: (1,0) vs (0,1), cos 0 → 1; token 2: (1,1) vs (2,2), cos 1 → 0; token 3 is padding.
        NDArray s = a(new float[] {1, 0, 1, 1, 5, 5}, 1, 3, 2);
        NDArray t = a(new float[] {0, 1, 2, 2, -5, 5}, 1, 3, 2);
        assertEquals(0.5, CosineLoss.of(s, t, a(new float[] {1, 1, 0}, 1, 3)).getFloat(), TOL);
    }

    @Test
    void patienceComparesNormalisedClsStates() {
        // (3,4)/5 = (0.6, 0.8) vs (4,3)/5 = (0.8, 0.6): squared differences 0.04, 0.04; a scaled copy
        // costs 0; the mean over the 4 cells (2 examples × 2 units) is 0.02.
        NDArray s = a(new float[] {3, 4, 1, 1}, 2, 2);
        NDArray t = a(new float[] {4, 3, 7, 7}, 2, 2);
        assertEquals(0.02, PatienceLoss.of(s, t).getFloat(), TOL);
    }

    @Test
    void attentionLossesCountOnlyRealCells() {
        // 1 sequence, 1 head, 3 tokens of which the last is padding.
        // Student rows [0.5, 0.5, 0], [0.9, 0.1, 0]; teacher rows [0.8, 0.2, 0], [0.9, 0.1, 0].
        float[] sv = {0.5f, 0.5f, 0, 0.9f, 0.1f, 0, 0.3f, 0.3f, 0.4f};
        float[] tv = {0.8f, 0.2f, 0, 0.9f, 0.1f, 0, 0.6f, 0.1f, 0.3f};
        NDArray s = a(sv, 1, 1, 3, 3);
        NDArray t = a(tv, 1, 1, 3, 3);
        NDArray mask = a(new float[] {1, 1, 0}, 1, 3);
        // KL row 1: 0.8·ln(0.8/0.5) + 0.2·ln(0.2/0.5) = 0.192745; row 2: 0; mean over 2 real rows.
        assertEquals(0.0963723785, AttentionLoss.of(s, t, mask, AttentionLoss.Kind.PROBS_KL).getFloat(), TOL);
        // MSE over the 4 real cells: (0.09 + 0.09 + 0 + 0) / 4.
        assertEquals(0.045, AttentionLoss.of(s, t, mask, AttentionLoss.Kind.PROBS_MSE).getFloat(), TOL);
        assertThrows(IllegalArgumentException.class,
                () -> new AttentionLoss(LayerMapping.explicit(new int[] {0}, new int[] {0}),
                        AttentionLoss.Kind.PROBS_MSE));
    }

    @Test
    void maskedLmMaskingFollowsBert() {
        MaskedLmLoss mlm = new MaskedLmLoss(2, 103, 30522, Set.of(101L, 102L, 0L));
        long[] ids = new long[10_000];
        long[] att = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % 100 == 0 ? 101 : 2000 + i % 50;
            att[i] = i < 9_000 ? 1 : 0;
        }
        MaskedLmLoss.Masking masking = mlm.mask(ids, att, new Random(1));
        int masked = 0;
        for (long p : masking.positions()) {
            long id = ids[(int) p];
            if (id == 101 || att[(int) p] == 0) {
                throw new AssertionError("picked a special or padding position " + p);
            }
            masked += masking.ids()[(int) p] == 103 ? 1 : 0;
        }
        // 8,910 candidates × 0.15 = 1,336 expected (σ ≈ 34); 80% of the picked become [MASK] (σ ≈ 1.1%).
        int n = masking.positions().length;
        assertEquals(1336, n, 4 * 34);
        assertEquals(0.8, masked / (double) n, 0.045);
    }

    @Test
    void mappingsFollowThePapers() {
        assertEquals("[1->2, 2->4, 3->6, 4->8, 5->10, 6->12]", LayerMapping.uniform(6, 12).toString());
        assertEquals("[1->7, 2->8, 3->9, 4->10, 5->11, 6->12]", LayerMapping.last(6, 12).toString());
        assertEquals("[1->4, 2->8, 3->12]", LayerMapping.uniform(3, 12).toString());
        DistillException e = assertThrows(DistillException.class,
                () -> LayerMapping.explicit(new int[] {1, 2}, new int[] {6, 13}).validate(3, 12));
        assertEquals("layer mapping [1->6, 2->13] names teacher layer 13 but the teacher has layers 0 (embeddings) "
                + "to 12", e.getMessage());
        assertThrows(DistillException.class, () -> LayerMapping.uniform(5, 12));
        assertThrows(DistillException.class, () -> LayerMapping.explicit(new int[] {4}, new int[] {1}).validate(3, 12));
    }
}
