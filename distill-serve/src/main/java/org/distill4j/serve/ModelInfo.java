package org.distill4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.weights.HfModelDirectory;

/**
 * What a model directory says about its task, from {@code distill.json} (written by fine-tuning and
 * recipes) or else HuggingFace's {@code id2label} in {@code config.json}.
 *
 * @param task the GLUE task name, or null
 * @param labels label names in output order, or null (no head, or a regression head)
 * @param trainedLength the tokens per example the model was trained at, or 0 if unknown
 * @param positionLimit the model's {@code max_position_embeddings}, or 0 if unknown
 */
public record ModelInfo(String task, List<String> labels, int trainedLength, int positionLimit) {

    public ModelInfo {
        labels = labels == null ? null : List.copyOf(labels);
    }

    static final ModelInfo NONE = new ModelInfo(null, null, 0, 0);

    /** The information in {@code dir}; every file is optional. */
    static ModelInfo read(Path dir) {
        JsonNode distill = readJson(dir.resolve("distill.json"));
        JsonNode config = readJson(dir.resolve("config.json"));
        String task = distill != null && distill.hasNonNull("task") ? distill.get("task").asText() : null;
        List<String> labels = null;
        if (distill != null && distill.has("labels")) {
            labels = HfModelDirectory.TaskHead.fromInfo(distill).labels();
        } else if (config != null && config.has("id2label")) {
            TreeMap<Integer, String> byId = new TreeMap<>();
            config.get("id2label").fields().forEachRemaining(e -> byId.put(Integer.parseInt(e.getKey()),
                    e.getValue().asText()));
            labels = byId.size() > 1 ? new ArrayList<>(byId.values()) : null;
        }
        int length = distill != null ? distill.path("max_length").asInt(0) : 0;
        int positions = config != null ? config.path("max_position_embeddings").asInt(0) : 0;
        return new ModelInfo(task, labels, length, positions);
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** The length to run at: the caller's, else the trained length, else 512 within the position limit. */
    int lengthFor(int requested) {
        if (requested > 0) {
            if (positionLimit > 0 && requested > positionLimit) {
                throw new IllegalArgumentException("maxLength " + requested + " exceeds the model's "
                        + positionLimit + " positions");
            }
            return requested;
        }
        if (trainedLength > 0) {
            return trainedLength;
        }
        return positionLimit > 0 ? Math.min(512, positionLimit) : 512;
    }
}
