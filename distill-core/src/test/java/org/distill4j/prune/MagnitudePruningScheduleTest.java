package org.distill4j.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import org.distill4j.model.BertModel;
import org.distill4j.train.Stage;
import org.distill4j.train.TrainingListener.StageInfo;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;

/** The cubic sparsity schedule of gradual magnitude pruning, read at the steps its masks change. */
class MagnitudePruningScheduleTest {

    @Test
    void theScheduleHitsItsTargetsAtTheScheduledSteps() {
        // 100 updates: pruning from update 10 to update 70, masks every 10 updates, to 90% zeros.
        MagnitudePruning.Schedule s = new MagnitudePruning.Schedule(0.9, 0.0, 0.1, 0.7, 10, false);
        assertEquals(0.0, s.at(0, 100));
        assertEquals(0.0, s.at(9, 100));
        assertEquals(0.0, s.at(10, 100), "s_i at t0");
        double at20 = 0.9 - 0.9 * Math.pow(1 - 10.0 / 60, 3);
        assertEquals(at20, s.at(20, 100), 1e-12);
        assertEquals(at20, s.at(29, 100), 1e-12, "the masks hold between recomputations");
        assertEquals(0.9 - 0.9 * Math.pow(1 - 50.0 / 60, 3), s.at(60, 100), 1e-12);
        assertEquals(0.9, s.at(70, 100), "s_f from t0 + n dt on");
        assertEquals(0.9, s.at(100, 100));
        MagnitudePruning.Schedule fromHalf = new MagnitudePruning.Schedule(0.8, 0.5, 0.0, 1.0, 1, true);
        assertEquals(0.5, fromHalf.at(0, 40));
        assertEquals(0.8, fromHalf.at(40, 40));
        assertThrows(IllegalArgumentException.class, () -> new MagnitudePruning.Schedule(1.0, 0, 0, 1, 1, false));
        assertThrows(IllegalArgumentException.class, () -> new MagnitudePruning.Schedule(0.5, 0, 0.7, 0.1, 1, false));
    }

    @Test
    void aModelShortOfItsSparsityIsNeverKeptAsTheBest() {
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = Checkpoint.load("builtin:all-minilm-l6-v2").toModel(m)) {
            MagnitudePruning gmp = new MagnitudePruning(new MagnitudePruning.Schedule(0.5, 0.0, 0.1, 0.7, 10, false),
                    model, null);
            // A first stage of two is not pruned: any of its evaluations may be its best.
            StageInfo first = new StageInfo(0, 2, "intermediate", 100, 0, Stage.Selection.BEST_ON_DEV);
            gmp.stageStarted(first);
            assertTrue(gmp.selectable(first, 20));
            gmp.stageEnded(first);
            StageInfo last = new StageInfo(1, 2, "prediction", 100, 0, Stage.Selection.BEST_ON_DEV);
            gmp.stageStarted(last);
            assertFalse(gmp.selectable(last, 0));
            assertFalse(gmp.selectable(last, 40), "at 40 of 100 updates the masks are short of 50%");
            assertFalse(gmp.selectable(last, 69));
            assertTrue(gmp.selectable(last, 70), "the target is reached at 70");
            assertTrue(gmp.selectable(last, 100), "the stage's last evaluation");
            gmp.stageEnded(last);
        }
    }
}
