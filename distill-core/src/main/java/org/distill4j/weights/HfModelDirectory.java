package org.distill4j.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;

/**
 * A HuggingFace-style model directory: {@code config.json}, {@code model.safetensors} (HuggingFace
 * BERT tensor names) and {@code tokenizer.json}. This is what {@code distill convert} writes and
 * what every trained distill4j model is saved as, so other tools can open it.
 */
public final class HfModelDirectory {

    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String TOKENIZER = "tokenizer.json";

    private HfModelDirectory() {}

    public static Checkpoint read(Path dir) {
        for (String f : new String[] {CONFIG, WEIGHTS, TOKENIZER}) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new DistillException("Model directory " + dir + " has no " + f
                        + " (a model directory needs config.json, model.safetensors and tokenizer.json)");
            }
        }
        BertConfig config = BertConfig.read(dir.resolve(CONFIG));
        StateDict weights = Safetensors.read(dir.resolve(WEIGHTS));
        try {
            return new Checkpoint(dir.toString(), config, weights, Files.readAllBytes(dir.resolve(TOKENIZER)));
        } catch (IOException e) {
            throw new DistillException("Cannot read " + dir.resolve(TOKENIZER) + ": " + e.getMessage(), e);
        }
    }

    /** Writes a checkpoint as a model directory, replacing the three files if they exist. */
    public static void write(Checkpoint checkpoint, Path dir) {
        try {
            Files.createDirectories(dir);
            checkpoint.config().write(dir.resolve(CONFIG));
            Safetensors.write(checkpoint.weights(), dir.resolve(WEIGHTS), Map.of("source", checkpoint.name()));
            Files.write(dir.resolve(TOKENIZER), checkpoint.tokenizerJson());
        } catch (IOException e) {
            throw new DistillException("Cannot write model directory " + dir + ": " + e.getMessage(), e);
        }
    }
}
