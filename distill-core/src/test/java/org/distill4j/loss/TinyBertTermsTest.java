package org.distill4j.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * TinyBERT's four terms as the recipe builds them, computed through {@link LossTerm#compute} on a
 * hand-made step (one sequence of three tokens, the third padding; student width 2, teacher width
 * 3), against values worked out by hand in the comments. Padding positions hold large values, so a
 * term that counted them would be off by orders of magnitude.
 */
class TinyBertTermsTest {

    static final double TOL = 1e-5;
    NDManager m;
    ParameterStore ps;

    @BeforeEach
    void open() {
        m = NDManager.newBaseManager();
        ps = new ParameterStore(m, false);
    }

    @AfterEach
    void close() {
        m.close();
    }

    private NDArray a(float[] v, long... shape) {
        return m.create(v, new Shape(shape));
    }

    private static void set(LossTerm term, String name, float... values) {
        Parameter p = term.parameters().get(name);
        p.getArray().set(values);
    }

    /** A step whose student ran one layer and whose teacher answers for its layer 0 and layer 2. */
    private StepContext step(NDArray studentLogits, NDArray teacherLogits) {
        NDArray mask = a(new float[] {1, 1, 0}, 1, 3);
        NDArray ids = m.create(new long[] {101, 7, 0}, new Shape(1, 3));
        EncoderInput in = new EncoderInput(ids, m.zeros(new Shape(1, 3), ids.getDataType()), mask);
        NDArray sEmb = a(new float[] {1, 2, 3, 4, 50, 60}, 1, 3, 2);
        NDArray sHidden = a(new float[] {1, 0, 0, 1, 7, 7}, 1, 3, 2);
        // Student scores 0 on the real cells, 1000 wherever the query or the key is padding.
        float[] ss = new float[18];
        for (int h = 0; h < 2; h++) {
            for (int q = 0; q < 3; q++) {
                for (int k = 0; k < 3; k++) {
                    ss[h * 9 + q * 3 + k] = q == 2 || k == 2 ? 1000 : 0;
                }
            }
        }
        // Teacher scores: head 0 real cells [[1, 2], [3, 4]], head 1 [[0, 0], [0, 1]]; −10000 on padding cells.
        float[] ts = {1, 2, -10000, 3, 4, -10000, -10000, -10000, -10000,
                      0, 0, -10000, 0, 1, -10000, -10000, -10000, -10000};
        NDArray sScores = a(ss, 1, 2, 3, 3);
        EncoderOutput student = new EncoderOutput(List.of(sEmb, sHidden), List.of(sScores), List.of(sScores), mask,
                new int[] {0, 1});
        Map<Integer, NDArray> hidden = Map.of(
                0, a(new float[] {1, 1, 1, 3, 4, 8, 9, 9, 9}, 1, 3, 3),
                2, a(new float[] {2, 0, 0, 0, 0, 0, 5, 5, 5}, 1, 3, 3));
        NDArray tScores = a(ts, 1, 2, 3, 3);
        TeacherOutputs teacher = new TeacherOutputs() {
            public NDArray logits() {
                return teacherLogits;
            }

            public NDArray cls(int layer) {
                throw new UnsupportedOperationException();
            }

            public NDArray hidden(int layer) {
                return hidden.get(layer);
            }

            public NDArray attentionScores(int layer) {
                assertEquals(2, layer, "the attention term must read the mapped teacher layer");
                return tScores;
            }

            public NDArray attentionProbs(int layer) {
                throw new UnsupportedOperationException();
            }

            public NDArray maskedLmLogits(EncoderInput masked, NDArray positions) {
                throw new UnsupportedOperationException();
            }
        };
        return new StepContext(ps, m, null, in, student, studentLogits, teacher, null, false, new Random(1));
    }

    @Test
    void embeddingTermProjectsThroughWe() {
        HiddenMseLoss term = new HiddenMseLoss("embedding", LayerMapping.explicit(new int[] {0}, new int[] {0}), 2, 3,
                m);
        assertEquals(Map.of(), new HiddenMseLoss("same", LayerMapping.explicit(new int[] {0}, new int[] {0}), 3, 3, m)
                .parameters(), "equal widths need no projection");
        assertEquals(List.of("projection.embedding.weight", "projection.embedding.bias"),
                List.copyOf(term.parameters().keySet()));
        // W_e = [[1, 0], [0, 1], [1, 1]], b = [0, 0, 1]: token 1 (1, 2) → (1, 2, 4), token 2 (3, 4) → (3, 4, 8).
        // Teacher (1, 1, 1) and (3, 4, 8): squared errors 0 + 1 + 9 and 0; mean over 2 tokens × 3 = 10 / 6.
        set(term, "projection.embedding.weight", 1, 0, 0, 1, 1, 1);
        set(term, "projection.embedding.bias", 0, 0, 1);
        assertEquals(10 / 6.0, term.compute(step(null, null)).getFloat(), TOL);
    }

    @Test
    void hiddenTermProjectsThroughWhAndFollowsTheMapping() {
        HiddenMseLoss term = new HiddenMseLoss("hidden", LayerMapping.explicit(new int[] {1}, new int[] {2}), 2, 3, m);
        // W_h = [[2, 0], [0, 2], [0, 0]], b = 0: (1, 0) → (2, 0, 0), (0, 1) → (0, 2, 0); teacher layer 2 has
        // (2, 0, 0) and (0, 0, 0): squared errors 0 and 4; mean over 6 cells = 4 / 6.
        set(term, "projection.hidden.weight", 2, 0, 0, 2, 0, 0);
        set(term, "projection.hidden.bias", 0, 0, 0);
        assertEquals(4 / 6.0, term.compute(step(null, null)).getFloat(), TOL);
    }

    @Test
    void aPlacedProjectionPutsEachStudentDimensionWhereItCameFrom() {
        // Student dimensions 0 and 1 taken from the teacher's 2 and 0: W_h places (a, b) at (b, 0, a).
        HiddenMseLoss term = new HiddenMseLoss("hidden", LayerMapping.explicit(new int[] {1}, new int[] {2}), 2, 3, m,
                new int[] {2, 0});
        assertArrayEquals(new float[] {0, 1, 0, 0, 1, 0},
                term.parameters().get("projection.hidden.weight").getArray().toFloatArray());
        assertArrayEquals(new float[3], term.parameters().get("projection.hidden.bias").getArray().toFloatArray());
        // (1, 0) → (0, 0, 1) against (2, 0, 0): 4 + 1; (0, 1) → (1, 0, 0) against (0, 0, 0): 1; mean 6 / 6.
        assertEquals(1.0, term.compute(step(null, null)).getFloat(), TOL);
        assertThrows(IllegalArgumentException.class, () -> new HiddenMseLoss("h", LayerMapping.explicit(
                new int[] {1}, new int[] {2}), 2, 3, m, new int[] {0, 3}));
    }

    @Test
    void attentionTermComparesScoresOnRealCellsAveragedOverHeads() {
        AttentionLoss term = new AttentionLoss(LayerMapping.explicit(new int[] {1}, new int[] {2}),
                AttentionLoss.Kind.SCORES_MSE);
        // Head 0: 1 + 4 + 9 + 16 = 30; head 1: 1. Over 4 real cells × 2 heads: 31 / 8. Counting the padding
        // cells (1000 against −10000) would add about 10^8 per cell; the reference's zeroing would divide by 18.
        assertEquals(31 / 8.0, term.compute(step(null, null)).getFloat(), TOL);
        assertTrue(term.teacherRequest().attentionScores().contains(2));
    }

    @Test
    void predictionTermIsSoftCrossEntropyAtT1() {
        // p_t = softmax(ln 3, 0) = (0.75, 0.25), p_s = (0.5, 0.5): KL = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.1308120,
        // the soft cross-entropy −Σ p_t ln p_s = ln 2 less the teacher's entropy (a constant: same gradients).
        SoftTargetLoss term = new SoftTargetLoss(1f);
        NDArray s = a(new float[] {0, 0}, 1, 2);
        NDArray t = a(new float[] {(float) Math.log(3), 0}, 1, 2);
        assertEquals(0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), term.compute(step(s, t)).getFloat(), TOL);
    }
}
