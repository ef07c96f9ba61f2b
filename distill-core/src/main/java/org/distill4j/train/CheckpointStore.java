package org.distill4j.train;

import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Sha256;
import org.distill4j.Json;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * A run's checkpoints: every parameter the run can change (the student's and those the loss terms
 * learn, frozen ones included, so that a stage boundary inside a resumed run finds them as they
 * were), the optimizer's moments for what trains, and the {@link RunState}. A checkpoint is written
 * beside the old one and swapped in ({@link AtomicDirectory}), so a crash leaves the old or the new,
 * never a mixture; it is resumed only by a run of the same identity (the recipe's hash).
 */
final class CheckpointStore {

    private static final String[] FILES = {"model.safetensors", "optimizer.safetensors"};

    private final String identity;

    CheckpointStore(String identity) {
        this.identity = identity;
    }

    /**
     * Whether the run in {@code out} got to its end (its last checkpoint says so): a caller may then
     * use its results without running it again.
     */
    static boolean finished(Path out) {
        Path state = out.resolve("checkpoint").resolve("state.json");
        try {
            return Files.isRegularFile(state) && Json.MAPPER.readTree(state.toFile()).path("finished").asBoolean(true);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Writes a checkpoint to {@code dir}; {@code finished} marks the end of the run. {@code adam}
     * is null at a stage's start, whose optimizer has no state yet.
     */
    void save(Path dir, Map<String, Parameter> parameters, AdamW adam, RunState st, boolean finished,
            LossScaler scaler) {
        AtomicDirectory.write(dir, tmp -> {
            writeWeights(parameters, tmp.resolve("model.safetensors"));
            if (adam != null) {
                adam.save(tmp.resolve("optimizer.safetensors"));
            }
            ObjectNode n = Json.MAPPER.createObjectNode();
            n.put("identity", identity);
            n.put("finished", finished);
            st.write(n);
            n.put("applied", adam == null ? 0 : adam.steps()); // the optimizer's updates: its bias correction
            if (scaler != null) {
                n.put("loss_scale", scaler.scale());
                n.put("loss_scale_clean_updates", scaler.cleanUpdates());
            }
            // Safetensors has no checksum: a flipped bit in the tensors would resume silently.
            ObjectNode sums = n.putObject("sha256");
            for (String f : FILES) {
                if (Files.exists(tmp.resolve(f))) {
                    sums.put(f, Sha256.of(tmp.resolve(f)));
                }
            }
            Json.PRETTY.writeValue(tmp.resolve("state.json").toFile(), n);
        });
    }

    /** The stage a checkpoint stands in, to build that stage's optimizer before {@link #restore}. */
    static int stageOf(Path dir) {
        try {
            return Json.MAPPER.readTree(dir.resolve("state.json").toFile()).path("stage").asInt();
        } catch (IOException e) {
            throw new DistillException("Cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Restores a checkpoint: parameter values in place, the optimizer (built for the checkpoint's
     * stage, {@link #stageOf}) and the loss scale, and returns where the run stood.
     */
    RunState restore(Path dir, Map<String, Parameter> parameters, AdamW adam, LossScaler scaler) {
        try {
            JsonNode n = Json.MAPPER.readTree(dir.resolve("state.json").toFile());
            if (!n.path("identity").asText().equals(identity)) {
                throw new DistillException("checkpoint " + dir + " was written by a different configuration ("
                        + n.path("identity").asText() + ", not " + identity
                        + "); use another output directory or start without --resume");
            }
            verify(dir, n);
            readWeights(dir.resolve("model.safetensors"), parameters);
            RunState st = RunState.read(n);
            if (scaler != null && n.has("loss_scale")) {
                scaler.restore((float) n.path("loss_scale").asDouble(), n.path("loss_scale_clean_updates").asInt());
            }
            Path moments = dir.resolve("optimizer.safetensors");
            if (Files.exists(moments)) {
                adam.load(moments, n.path("applied").asInt());
            } else if (st.micro > 0) {
                throw new DistillException(dir + " has no optimizer.safetensors, though it stands inside stage "
                        + st.stage + "; the checkpoint is damaged: start without --resume");
            }
            return st;
        } catch (IOException e) {
            throw new DistillException("Cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks the checkpoint's files against the digests its state.json recorded (checkpoints
     * written before digests were kept have none, and are read as they are).
     */
    private static void verify(Path dir, JsonNode state) {
        JsonNode sums = state.path("sha256");
        for (String f : FILES) {
            if (!sums.has(f)) {
                continue;
            }
            Path file = dir.resolve(f);
            if (!Files.isRegularFile(file)) {
                throw new DistillException("checkpoint file " + file + " is missing; the checkpoint is damaged: "
                        + "start without --resume (or restore the file from a backup)");
            }
            if (!Sha256.of(file).equals(sums.get(f).asText())) {
                throw new DistillException("checkpoint file " + file + " is damaged: its SHA-256 is not the one "
                        + dir.resolve("state.json") + " recorded when it was written. Start without --resume "
                        + "(or restore the file from a backup)");
            }
        }
    }

    /** Writes parameter values as safetensors, by name. */
    static void writeWeights(Map<String, Parameter> parameters, Path file) {
        StateDict weights = new StateDict("checkpoint");
        parameters.forEach((name, p) -> weights.put(name, Tensor.of(p.getArray())));
        Safetensors.write(weights, file, Map.of());
    }

    /** Reads values written by {@link #writeWeights} into the parameters, in place; every one must be there. */
    static void readWeights(Path file, Map<String, Parameter> parameters) {
        StateDict w = Safetensors.read(file);
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            Tensor t = w.get(e.getKey());
            if (t == null) {
                throw new DistillException(file + " has no tensor '" + e.getKey() + "'");
            }
            StateDict.assign(e.getValue().getArray(), t);
        }
    }
}
