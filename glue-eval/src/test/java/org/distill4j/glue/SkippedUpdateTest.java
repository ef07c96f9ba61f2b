package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.LossTerm;
import org.distill4j.loss.StepContext;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.train.Trainer;
import org.distill4j.train.UpdateReplay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Non-finite gradients from a finite loss: an update whose recomputation is finite goes ahead; one
 * that repeats is skipped and kept with its batch and state, and replays. A term makes the NaN
 * gradients (the derivative of √x at 0, as a norm of a zero vector would) on chosen calls, on a
 * real SST-2 slice.
 */
class SkippedUpdateTest {

    @TempDir
    Path tmp;

    /** Zero in value; NaN gradients into the student's head on the micro-batches (calls) it is told. */
    private static final class Poison implements LossTerm {
        Set<Integer> at = Set.of();
        boolean always;
        int calls;

        @Override
        public String name() {
            return "poison";
        }

        @Override
        public TeacherRequest teacherRequest() {
            return TeacherRequest.NONE;
        }

        @Override
        public NDArray compute(StepContext step) {
            calls++;
            NDArray zero = step.studentLogits().sub(step.studentLogits()).sum();
            return always || at.contains(calls) ? zero.sqrt() : zero;
        }
    }

    /** The tiny student of {@link SmallDistillation#tinyStudentRun} with the poison (or replaying {@code dump}). */
    private static Object run(Path out, Poison poison, Path dump) {
        return SmallDistillation.tinyStudentRun(out, "skip", List.of(WeightedTerm.of(new HardLabelLoss(), 1f), WeightedTerm.of(poison, 1f)),
                t -> dump == null ? t.run(false) : t.replay(dump));
    }

    private static List<String> kept(Path out) throws Exception {
        try (Stream<Path> s = Files.list(out.resolve("skipped"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void skippedUpdatesAreKeptAndReplay() throws Exception {
        Path out = tmp.resolve("run");
        Poison poison = new Poison();
        // Updates 4, 9, 12 and 15 poisoned on both computations (each update is one call, two when
        // recomputed), not in a row: the run goes on.
        poison.at = Set.of(4, 5, 10, 11, 14, 15, 18, 19);
        Trainer.Result r = (Trainer.Result) run(out, poison, null);
        assertEquals(4, r.skippedSteps());
        assertEquals(24, poison.calls); // 20 updates, each skipped one computed twice
        String log = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(log.contains("(computed twice)"), log);
        // At most three kept: each holds the student and its optimizer moments.
        assertEquals(List.of("step-12", "step-4", "step-9"), kept(out));
        Path dump = out.resolve("skipped/step-9");
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "state.json", "skip.json")) {
            assertTrue(Files.isRegularFile(dump.resolve(f)), f);
        }
        JsonNode skip = new ObjectMapper().readTree(dump.resolve("skip.json").toFile());
        assertEquals(9, skip.path("step").asInt());
        assertEquals(8, skip.path("first_micro_batch").asInt()); // the update before it was the eighth
        assertEquals(8, skip.path("examples").path(0).size()); // one micro-batch of eight sentences
        assertTrue(skip.path("non_finite_gradients").toString().contains("classifier.weight"), skip.toString());

        // Replayed with the batch that poisons: the NaN comes back from the same finite loss.
        Poison again = new Poison();
        again.always = true;
        UpdateReplay bad = (UpdateReplay) run(tmp.resolve("replay"), again, dump);
        System.out.println(bad.summary());
        assertEquals(9, bad.step());
        assertTrue(bad.nonFinite().stream().anyMatch(p -> p.startsWith("classifier.")), bad.summary());
        assertLossAsRecorded(bad);
        // And without: the same state and batch give finite gradients.
        UpdateReplay clean = (UpdateReplay) run(tmp.resolve("replay-clean"), new Poison(), dump);
        System.out.println(clean.summary());
        assertTrue(clean.nonFinite().isEmpty(), clean.summary());
        assertTrue(Float.isFinite(clean.gradNorm()) && clean.gradNorm() > 0, clean.summary());
        assertLossAsRecorded(clean);
    }

    @Test
    void anUpdateWhoseRecomputationIsFiniteGoesAhead() throws Exception {
        // The kind of NaN seen in real runs: a replay of the same state and batch is finite.
        Poison poison = new Poison();
        poison.at = Set.of(4, 9); // the first computation of updates 4 and 8
        Path out = tmp.resolve("recomputed");
        Trainer.Result r = (Trainer.Result) run(out, poison, null);
        assertEquals(0, r.skippedSteps());
        assertEquals(20, r.steps());
        assertEquals(22, poison.calls);
        assertTrue(!Files.exists(out.resolve("skipped")), "nothing to keep for replay when nothing was skipped");
        List<JsonNode> noted = SmallDistillation.metricLines(out, "recomputed");
        assertEquals(List.of(4, 8), noted.stream().map(n -> n.path("step").asInt()).toList(), noted.toString());
        assertTrue(noted.get(0).path("recomputed").asText().startsWith("non-finite gradients in 23 of 23"), noted.toString());

        // The recomputed update is the one a clean run makes: same dropout, same batch.
        Poison none = new Poison();
        Path clean = tmp.resolve("clean");
        run(clean, none, null);
        List<JsonNode> a = SmallDistillation.metricLines(out, "loss");
        List<JsonNode> b = SmallDistillation.metricLines(clean, "loss");
        assertEquals(b.size(), a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(b.get(i).path("loss").asDouble(), a.get(i).path("loss").asDouble(),
                    1e-5 * Math.max(1, Math.abs(b.get(i).path("loss").asDouble())), a.get(i) + " vs " + b.get(i));
        }
    }

    /**
     * The replay starts from the kept weights and batch, so its loss is the run's: bit for bit on a
     * machine with repeatable kernels, which the summary reports; a rounding apart at most.
     */
    private static void assertLossAsRecorded(UpdateReplay r) {
        for (Map.Entry<String, Float> e : r.recorded().entrySet()) {
            float now = r.values().get(e.getKey());
            assertEquals(e.getValue(), now, 1e-5f * Math.max(1f, Math.abs(e.getValue())), e.getKey() + ": " + r.summary());
        }
        assertEquals(r.recorded().keySet(), r.values().keySet());
    }
}
