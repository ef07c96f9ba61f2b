package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run checkpoints by wall-clock time as well as by steps: a crash loses at most the interval,
 * even when the step interval is longer than the run (real SST-2 slice, a tiny student).
 */
class CheckpointIntervalTest {

    @TempDir
    Path tmp;

    /** The tiny student of {@link SmallDistillation#tinyStudentRun}, crashing after update 7 (of 20). */
    private static void crashAfterSeven(Path out, Duration interval) {
        SmallDistillation.tinyStudentRun(out, "interval", List.of(WeightedTerm.of(new HardLabelLoss(), 1f)),
                o -> interval == null ? o : o.checkpointInterval(interval),
                t -> assertThrows(Trainer.Aborted.class, () -> t.abortAfterStep(7).run(false)));
    }

    @Test
    void aCrashLosesNoMoreThanTheTimeInterval() throws Exception {
        // The default interval (10 minutes) is longer than this run: nothing saved before the crash.
        Path slow = tmp.resolve("default");
        crashAfterSeven(slow, null);
        assertFalse(Files.exists(slow.resolve("checkpoint")), "no checkpoint was due");

        // An interval of zero: a checkpoint after every update. The crash comes after update 7 but
        // before its checkpoint, so what is kept is the state after update 6.
        Path often = tmp.resolve("zero");
        crashAfterSeven(often, Duration.ZERO);
        var state = new ObjectMapper().readTree(often.resolve("checkpoint/state.json").toFile());
        assertEquals(6, state.path("step").asInt(), state.toString());
        assertFalse(state.path("finished").asBoolean(), state.toString());
    }
}
