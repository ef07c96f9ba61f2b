package org.distill4j.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Json;

/**
 * Writes {@code metrics.jsonl}: a line of mean loss terms, learning rate, gradient norm and speed
 * every {@code logEvery} updates and at a stage's end, a line per evaluation, and a line per
 * skipped or recomputed update. In a plan of several stages every line names its stage.
 */
final class MetricsLog implements TrainingListener {

    private final Path file;
    private final int logEvery;
    private LossWindow window = new LossWindow();

    MetricsLog(Path out, int logEvery) {
        this.file = out.resolve("metrics.jsonl");
        this.logEvery = logEvery;
    }

    /** Starts the file afresh (a run that does not resume). */
    void clear() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new DistillException("Cannot delete " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void stageStarted(StageInfo stage) {
        window = new LossWindow();
    }

    @Override
    public void updated(Update u) {
        if (u.applied()) {
            window.add(u);
        }
        if (u.step() % logEvery == 0 || u.end()) {
            Map<String, Object> head = head(u.stage(), u.step());
            head.put("epoch", u.epoch());
            head.put("lr", u.learningRate());
            u.weights().forEach((k, w) -> head.put("weight_" + k, w));
            append(window.line(head));
            window = new LossWindow();
        }
    }

    @Override
    public void skipped(StageInfo stage, int step, String why) {
        Map<String, Object> line = head(stage, step);
        line.put("skipped", why);
        append(line);
    }

    @Override
    public void recomputed(StageInfo stage, int step, String why) {
        Map<String, Object> line = head(stage, step);
        line.put("recomputed", why);
        append(line);
    }

    @Override
    public void evaluated(StageInfo stage, Trainer.Evaluation e, boolean best, double seconds) {
        Map<String, Object> line = head(stage, e.step());
        line.put("epoch", e.epoch());
        line.put("eval", true);
        line.putAll(e.score().metrics());
        line.put("score", e.score().value());
        append(line);
    }

    private static Map<String, Object> head(StageInfo stage, int step) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (stage.of() > 1) {
            m.put("stage", stage.name());
        }
        m.put("step", step);
        return m;
    }

    private void append(Map<String, ?> line) {
        try {
            Files.writeString(file, Json.MAPPER.writeValueAsString(line) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new DistillException("Cannot append to " + file + ": " + e.getMessage(), e);
        }
    }
}
