package org.distill4j.train;

import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Json;

/**
 * Keeps what it takes to replay an fp32 update skipped on a non-finite loss or gradients
 * ({@link Trainer#replay}): a checkpoint as it stood before the update (the skip changed nothing)
 * and {@code skip.json} with the update's micro-batches, their examples, the learning rate and the
 * loss values seen. Such updates come rarely and at different steps in repeated runs; a replay
 * tells a batch that always yields them from a computation that is not repeatable. At most
 * {@link #MAX_KEPT} per run, as each holds the student and its optimizer moments.
 */
final class SkipArchive {

    /** Skipped updates kept per run. */
    static final int MAX_KEPT = 3;

    /** A kept update, as {@code skip.json} describes it. */
    record Kept(int step, int first, int end, Map<String, Float> values, List<int[]> examples) {}

    private final Path root;
    private final CheckpointStore store;

    SkipArchive(Path out, CheckpointStore store) {
        this.root = out.resolve("skipped");
        this.store = store;
    }

    /**
     * Keeps update {@code st.step + 1} (micro-batches {@code [first, end)}) unless {@link #MAX_KEPT}
     * are kept already. Diagnostics only: a failure to write is reported and the run goes on.
     */
    void keep(Map<String, Parameter> parameters, AdamW adam, RunState st, int first, int end,
            BatchPrefetcher prefetch, float lr, Map<String, Float> values, String why, List<String> nonFinite) {
        Path dir = root.resolve("step-" + (st.step + 1));
        try {
            if (Files.isDirectory(root)) {
                try (var kept = Files.list(root)) {
                    if (kept.filter(d -> !d.equals(dir) && !d.getFileName().toString().endsWith(".tmp")).count()
                            >= MAX_KEPT) {
                        return;
                    }
                }
            }
            store.save(dir, parameters, adam, st.at(first), false, null);
            ObjectNode n = Json.MAPPER.createObjectNode();
            n.put("step", st.step + 1);
            n.put("first_micro_batch", first);
            n.put("end_micro_batch", end);
            n.put("lr", lr);
            n.put("why", why);
            n.putPOJO("non_finite_gradients", nonFinite);
            n.putPOJO("values", values);
            ObjectNode bits = n.putObject("value_bits"); // exact, for a replay to compare bit for bit
            values.forEach((k, v) -> bits.put(k, Float.floatToRawIntBits(v)));
            List<int[]> examples = new ArrayList<>();
            for (int micro = first; micro < end; micro++) {
                examples.add(prefetch.indices(micro));
            }
            n.putPOJO("examples", examples);
            Json.PRETTY.writeValue(dir.resolve("skip.json").toFile(), n);
            System.err.printf("%nthe skipped update is kept for replay in %s%n", dir);
        } catch (IOException | DistillException e) {
            // A full disk must not end a run that can go on.
            System.err.printf("%nwarning: could not keep the skipped update in %s: %s%n", dir, e.getMessage());
        }
    }

    /** Reads a kept update's description from {@code dir}. */
    static Kept read(Path dir) {
        JsonNode skip;
        try {
            skip = Json.MAPPER.readTree(dir.resolve("skip.json").toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read " + dir.resolve("skip.json") + " (a kept skipped update has one): "
                    + e.getMessage(), e);
        }
        Map<String, Float> recorded = new LinkedHashMap<>();
        skip.path("value_bits").fields()
                .forEachRemaining(e -> recorded.put(e.getKey(), Float.intBitsToFloat(e.getValue().asInt())));
        List<int[]> examples = new ArrayList<>();
        for (JsonNode e : skip.path("examples")) {
            examples.add(Json.MAPPER.convertValue(e, int[].class));
        }
        return new Kept(skip.path("step").asInt(), skip.path("first_micro_batch").asInt(),
                skip.path("end_micro_batch").asInt(), recorded, examples);
    }
}
