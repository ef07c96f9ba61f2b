package org.distill4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.Json;

/**
 * Where a run stands: the stage, the position inside it (micro-batches and updates), the
 * evaluations so far and the time spent. Saved in every checkpoint ({@code state.json}); a
 * resumed run continues from exactly this position.
 */
final class RunState {
    /** The stage being trained (0-based). */
    int stage;
    /** Micro-batches of this stage done. */
    int micro;
    /** Updates of this stage done, skipped ones included. */
    int step;
    /** Updates skipped over the whole run. */
    int skipped;
    /** The model that goes on from this stage so far: its best evaluation, or null before the first. */
    Trainer.Evaluation best;
    final List<Trainer.Evaluation> evaluations = new ArrayList<>();
    double trainedExamples;
    double trainSeconds;
    /** Wall-clock seconds of the earlier processes of a resumed run, up to its checkpoint. */
    double wallBefore;
    /** When this process's part of the run began ({@link System#nanoTime}). */
    long since = System.nanoTime();

    double wallSeconds() {
        return wallBefore + (System.nanoTime() - since) / 1e9;
    }

    /** The state as it stood before micro-batch {@code micro} of this stage (a skipped update's start). */
    RunState at(int micro) {
        RunState s = copy();
        s.micro = micro;
        return s;
    }

    /** Enters the next stage: its position starts at zero, its best model is yet to be seen. */
    void nextStage() {
        stage++;
        micro = 0;
        step = 0;
        best = null;
    }

    private RunState copy() {
        RunState s = new RunState();
        s.stage = stage;
        s.micro = micro;
        s.step = step;
        s.skipped = skipped;
        s.best = best;
        s.evaluations.addAll(evaluations);
        s.trainedExamples = trainedExamples;
        s.trainSeconds = trainSeconds;
        s.wallBefore = wallBefore;
        s.since = since;
        return s;
    }

    void write(ObjectNode n) {
        n.put("stage", stage);
        n.put("micro", micro);
        n.put("step", step);
        n.put("skipped", skipped);
        n.putPOJO("best", best);
        n.putPOJO("evaluations", evaluations);
        n.put("trained_examples", trainedExamples);
        n.put("train_seconds", trainSeconds);
        n.put("wall_seconds", wallSeconds());
    }

    static RunState read(JsonNode n) throws java.io.IOException {
        RunState st = new RunState();
        st.stage = n.path("stage").asInt();
        st.micro = n.path("micro").asInt();
        st.step = n.path("step").asInt();
        st.skipped = n.path("skipped").asInt();
        for (JsonNode e : n.path("evaluations")) {
            st.evaluations.add(Json.MAPPER.treeToValue(e, Trainer.Evaluation.class));
        }
        JsonNode best = n.path("best");
        st.best = best.isMissingNode() || best.isNull() ? null : Json.MAPPER.treeToValue(best, Trainer.Evaluation.class);
        st.trainedExamples = n.path("trained_examples").asDouble();
        st.trainSeconds = n.path("train_seconds").asDouble();
        st.wallBefore = n.path("wall_seconds").asDouble();
        return st;
    }
}
