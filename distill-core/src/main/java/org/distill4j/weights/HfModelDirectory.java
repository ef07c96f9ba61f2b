package org.distill4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.model.BertConfig;

/**
 * A HuggingFace-style model directory: {@code config.json}, {@code model.safetensors} (HuggingFace
 * BERT tensor names) and {@code tokenizer.json}. This is what {@code distill convert} writes and
 * what every trained distill4j model is saved as, so other tools can open it.
 *
 * <p>A model with a task head is written for {@code BertForSequenceClassification}: its
 * {@code config.json} names the architecture, {@code num_labels}, {@code id2label}/{@code label2id}
 * and {@code problem_type}. HuggingFace's class always puts a tanh pooler between [CLS] and the head,
 * while heads trained on models without a pooler (MiniLM, bge and students cut from them) read [CLS]
 * directly. Such a head is written with a pooler that passes [CLS] through: weight ε·I and bias 0, so
 * that it computes tanh(ε·x), and the head's weight divided by ε; for ε = 2⁻¹⁰ and the values a
 * LayerNorm output takes, tanh(ε·x)/ε differs from x by under 10⁻⁵ relative. ε is a power of two, so
 * reading the directory back undoes it exactly ({@value #IDENTITY_POOLER} in {@code config.json}).
 */
public final class HfModelDirectory {

    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String TOKENIZER = "tokenizer.json";

    /** The config.json key that marks a pass-through pooler, with its ε. */
    public static final String IDENTITY_POOLER = "distill4j_identity_pooler";

    /** ε of the pass-through pooler: a power of two, so scaling by it and back is exact. */
    static final float EPSILON = 1f / 1024;

    /**
     * What a task head predicts, for {@code config.json}.
     *
     * @param labels label names in output order, or null for a regression head (STS-B)
     */
    public record TaskHead(List<String> labels) {
        public TaskHead {
            labels = labels == null ? null : List.copyOf(labels);
        }

        public static final TaskHead REGRESSION = new TaskHead(null);

        /**
         * The head a model's {@code distill.json} describes: its {@code labels}, or regression when it
         * names a task and no labels; null when it names neither (no task head).
         */
        public static TaskHead fromInfo(JsonNode info) {
            if (info.has("labels")) {
                List<String> labels = new ArrayList<>();
                info.get("labels").forEach(l -> labels.add(l.asText()));
                return new TaskHead(labels);
            }
            return info.hasNonNull("task") ? REGRESSION : null;
        }
    }

    private HfModelDirectory() {}

    public static Checkpoint read(Path dir) {
        for (String f : new String[] {CONFIG, WEIGHTS, TOKENIZER}) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new DistillException("Model directory " + dir + " has no " + f
                        + " (a model directory needs config.json, model.safetensors and tokenizer.json)");
            }
        }
        JsonNode raw = readJson(dir.resolve(CONFIG));
        BertConfig config = BertConfig.fromJson(raw, dir.resolve(CONFIG));
        StateDict weights = Safetensors.read(dir.resolve(WEIGHTS));
        if (raw.has(IDENTITY_POOLER)) {
            float eps = (float) raw.get(IDENTITY_POOLER).asDouble();
            weights.remove("pooler.dense.weight");
            weights.remove("pooler.dense.bias");
            Tensor w = weights.get("classifier.weight");
            if (w == null) {
                throw new DistillException(dir.resolve(CONFIG) + " marks a pass-through pooler but " + WEIGHTS
                        + " has no classifier.weight");
            }
            weights.put("classifier.weight", scaled(w, eps));
        }
        try {
            return new Checkpoint(dir.toString(), config, weights, Files.readAllBytes(dir.resolve(TOKENIZER)));
        } catch (IOException e) {
            throw new DistillException("Cannot read " + dir.resolve(TOKENIZER) + ": " + e.getMessage(), e);
        }
    }

    /** Writes a checkpoint as a model directory, replacing the three files if they exist. */
    public static void write(Checkpoint checkpoint, Path dir) {
        write(checkpoint, dir, null);
    }

    /**
     * Writes a checkpoint as a model directory; a task head is described by {@code head} (null:
     * generic {@code LABEL_i} names).
     */
    public static void write(Checkpoint checkpoint, Path dir, TaskHead head) {
        StateDict weights = checkpoint.weights();
        ObjectNode config = checkpoint.config().toJson();
        Tensor classifier = weights.get("classifier.weight");
        if (classifier != null) {
            int outputs = (int) classifier.shape()[0];
            describeHead(config, outputs, head);
            if (!weights.contains("pooler.dense.weight")) {
                weights = withIdentityPooler(weights, checkpoint.config().hiddenSize());
                config.put(IDENTITY_POOLER, (double) EPSILON);
            }
        }
        try {
            Files.createDirectories(dir);
            BertConfig.write(dir.resolve(CONFIG), config);
            Safetensors.write(weights, dir.resolve(WEIGHTS), Map.of("source", checkpoint.name()));
            Files.write(dir.resolve(TOKENIZER), checkpoint.tokenizerJson());
        } catch (IOException e) {
            throw new DistillException("Cannot write model directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void describeHead(ObjectNode config, int outputs, TaskHead head) {
        boolean regression = head != null ? head.labels() == null : outputs == 1;
        List<String> labels = new ArrayList<>();
        if (regression) {
            labels.add("LABEL_0");
        } else if (head != null) {
            if (head.labels().size() != outputs) {
                throw new DistillException("the task head has " + outputs + " outputs but " + head.labels().size()
                        + " labels were given: " + head.labels());
            }
            labels.addAll(head.labels());
        } else {
            for (int i = 0; i < outputs; i++) {
                labels.add("LABEL_" + i);
            }
        }
        config.putArray("architectures").add("BertForSequenceClassification");
        config.put("num_labels", outputs);
        ObjectNode id2label = config.putObject("id2label");
        ObjectNode label2id = config.putObject("label2id");
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
        config.put("problem_type", regression ? "regression" : "single_label_classification");
    }

    static StateDict withIdentityPooler(StateDict weights, int hidden) {
        StateDict out = new StateDict(weights.source());
        weights.tensors().forEach(out::put);
        float[] eye = new float[hidden * hidden];
        for (int i = 0; i < hidden; i++) {
            eye[i * hidden + i] = EPSILON;
        }
        out.put("pooler.dense.weight", new Tensor(new long[] {hidden, hidden}, eye));
        out.put("pooler.dense.bias", new Tensor(new long[] {hidden}, new float[hidden]));
        out.put("classifier.weight", scaled(weights.get("classifier.weight"), 1f / EPSILON));
        return out;
    }

    static Tensor scaled(Tensor t, float factor) {
        float[] data = t.data().clone();
        for (int i = 0; i < data.length; i++) {
            data[i] *= factor;
        }
        return new Tensor(t.shape().clone(), data);
    }

    private static JsonNode readJson(Path file) {
        try {
            return Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read model config " + file + ": " + e.getMessage(), e);
        }
    }
}
