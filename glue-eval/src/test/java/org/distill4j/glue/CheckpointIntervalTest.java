package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Trainer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run checkpoints by wall-clock time as well as by steps: a crash loses at most the interval,
 * even when the step interval is longer than the run (real SST-2 slice, a tiny student).
 */
class CheckpointIntervalTest {

    @TempDir
    Path tmp;

    /** 20 updates of 8 sentences, no step checkpoints, evaluated at the end only, crashing after update 7. */
    private static void crashAfterSeven(Path out, Duration interval) {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        Dataset train = GlueReader.read(SmallDistillation.GLUE, GlueTask.SST2, GlueTask.SST2.train(), false);
        Dataset dev = GlueReader.read(SmallDistillation.GLUE, GlueTask.SST2, GlueTask.SST2.split("dev"), false);
        Dataset devSlice = new Dataset(dev.task(), dev.split(), dev.file(), dev.examples().subList(0, 16), 0);
        Engine.getInstance().setRandomSeed(5);
        try (NDManager root = NDManager.newBaseManager();
                BertModel student = BertModel.create(BertConfig.of(ckpt.config().vocabSize(), 64, 1, 4, 128),
                        new BertModel.Heads(false, false, 2), root);
                BertTokenizer tok = ckpt.tokenizer(32)) {
            Trainer.Options o = new Trainer.Options(1, 8, 5e-4f, 0.01f, 0.1, 1f, 1, 0, 0, 5, 3, false, out, "interval");
            Trainer t = new Trainer(o, student, null, tok, List.of(new HardLabelLoss(1f)), false,
                    GlueTraining.examples(train, 160), GlueTraining.evaluator(List.of(devSlice), tok), (m, e) -> {});
            Trainer run = interval == null ? t : t.checkpointAtLeastEvery(interval);
            assertThrows(Trainer.Aborted.class, () -> run.abortAfterStep(7).run(false));
        }
    }

    @Test
    void aCrashLosesNoMoreThanTheTimeInterval() throws Exception {
        // The default interval (10 minutes) is longer than this run: nothing saved before the crash.
        Path slow = tmp.resolve("default");
        crashAfterSeven(slow, null);
        assertFalse(Files.exists(slow.resolve("checkpoint")), "no checkpoint was due");

        // An interval of zero: a checkpoint after every update, so the crash after 7 keeps 7.
        Path often = tmp.resolve("zero");
        crashAfterSeven(often, Duration.ZERO);
        var state = new ObjectMapper().readTree(often.resolve("checkpoint/state.json").toFile());
        assertEquals(6, state.path("step").asInt(), state.toString()); // update 7 aborts before it saves
        assertFalse(state.path("finished").asBoolean(), state.toString());
    }
}
