package org.distill4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Writes any model as a HuggingFace directory. */
@Command(name = "convert", description = "Write a model as a HuggingFace directory "
        + "(config.json, model.safetensors, tokenizer.json).")
final class ConvertCommand implements Runnable {

    @Parameters(paramLabel = "MODEL", description = "builtin:NAME, a .onnx file or a model directory")
    String model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    Path out;

    @Override
    public void run() {
        Checkpoint ckpt = Checkpoint.load(model);
        // A fine-tuned or distilled directory names its task and labels in distill.json: carry them
        // into config.json (id2label, problem_type) and copy distill.json along.
        HfModelDirectory.TaskHead head = model.startsWith("builtin:") ? null : taskHead(Path.of(model));
        HfModelDirectory.write(ckpt, out, head);
        if (head != null) {
            copyInfo(Path.of(model), out);
        }
        System.out.printf("wrote %s (%d tensors, %s) to %s%n", ckpt.name(), ckpt.weights().tensors().size(),
                ckpt.config().numHiddenLayers() + " layers, hidden " + ckpt.config().hiddenSize(), out);
    }

    /** The task head a model directory's distill.json describes, or null when it has none. */
    static HfModelDirectory.TaskHead taskHead(Path modelDir) {
        Path info = modelDir.resolve("distill.json");
        if (!Files.isRegularFile(info)) {
            return null;
        }
        try {
            return HfModelDirectory.TaskHead.fromInfo(Json.MAPPER.readTree(info.toFile()));
        } catch (IOException e) {
            throw new DistillException("Cannot read " + info + ": " + e.getMessage(), e);
        }
    }

    /** Copies a model directory's distill.json (task, labels, length) into a directory made from it, if it has one. */
    static void copyInfo(Path modelDir, Path out) {
        Path info = modelDir.resolve("distill.json");
        if (Files.isRegularFile(info)) {
            try {
                Files.copy(info, out.resolve("distill.json"), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new DistillException("Cannot copy " + info + " to " + out + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Writes the distill.json of a model derived from {@code modelDir} (cut, pruned, rewired) into
     * {@code out}: the same task, labels and length, its {@code base_model} named with {@code what}
     * so that reports tell the models apart, and {@code what} recorded as {@code derived}.
     */
    static void deriveInfo(Path modelDir, Path out, String what) {
        Path info = modelDir.resolve("distill.json");
        if (!Files.isRegularFile(info)) {
            return;
        }
        try {
            com.fasterxml.jackson.databind.node.ObjectNode n =
                    (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(info.toFile());
            n.put("base_model", n.path("base_model").asText(modelDir.toString()) + " " + what);
            n.put("derived", what + " of " + modelDir);
            Json.PRETTY.writeValue(out.resolve("distill.json").toFile(), n);
        } catch (IOException | ClassCastException e) {
            throw new DistillException("Cannot derive " + out.resolve("distill.json") + " from " + info + ": "
                    + e.getMessage(), e);
        }
    }
}
