package org.distill4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraAdapters;
import org.distill4j.model.LoraConfig;

/**
 * A LoRA adapter directory in HuggingFace PEFT's layout: {@code adapter_config.json} and
 * {@code adapter_model.safetensors}, the tensors named as PEFT names them on the HuggingFace model
 * ({@code base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight} for a
 * classifier, without {@code bert.} for a bare encoder). Besides the adapters it holds what trained
 * in full: the task head ({@code modules_to_save}), and biases or LayerNorms when they trained.
 *
 * <p>HuggingFace's classifier always reads a pooler; a head trained without one is stored behind the
 * pass-through pooler of {@link HfModelDirectory} (listed in {@code modules_to_save} too), and
 * reading the directory here takes it off again.
 *
 * @param config the adapters' rank, alpha, dropout and targets, and what else trained
 * @param baseModel the model the adapters were trained on ({@code base_model_name_or_path})
 * @param tensors the adapter's tensors by distill4j name ({@code encoder.layer.0...lora_A.weight},
 *     {@code classifier.weight}, ...)
 * @param modules the projections that carry an adapter, by module path
 */
public record PeftAdapter(LoraConfig config, String baseModel, StateDict tensors, Set<String> modules) {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";

    private static final String PREFIX = "base_model.model.";

    /** Whether {@code dir} is an adapter directory. */
    public static boolean isAdapter(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG));
    }

    /**
     * Writes the adapters of {@code model} (and what trained beside them) as a PEFT adapter
     * directory, replacing its two files.
     *
     * @param baseModel what {@code base_model_name_or_path} names: the model the adapters go on
     */
    public static void write(Path dir, BertModel model, LoraAdapters adapters, String baseModel) {
        boolean classifier = model.heads().taskOutputs() > 0;
        StateDict trained = new StateDict("adapter");
        model.namedParameters().forEach((name, p) -> {
            if (adapters.trains(name)) {
                trained.put(name, Tensor.of(p.getArray()));
            }
        });
        StateDict mine = trained;
        boolean identityPooler = classifier && !model.heads().pooler();
        if (identityPooler) {
            mine = HfModelDirectory.withIdentityPooler(mine, model.config().hiddenSize());
        }
        StateDict out = new StateDict("adapter");
        for (Map.Entry<String, Tensor> e : mine.tensors().entrySet()) {
            String n = e.getKey();
            out.put(PREFIX + (classifier && !n.startsWith("classifier.") ? "bert." : "") + n, e.getValue());
        }
        LoraConfig c = adapters.config();
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("peft_type", "LORA");
        json.put("task_type", classifier ? "SEQ_CLS" : "FEATURE_EXTRACTION");
        json.put("base_model_name_or_path", baseModel);
        json.put("r", c.rank());
        json.put("lora_alpha", c.alpha());
        json.put("lora_dropout", c.dropout());
        c.targets().forEach(json.putArray("target_modules")::add);
        json.put("bias", c.trainBiases() ? "all" : "none");
        ArrayNode save = json.putArray("modules_to_save");
        if (classifier) {
            save.add("classifier");
            if (identityPooler) {
                save.add("pooler");
            }
        }
        if (c.trainLayerNorm()) {
            save.add("LayerNorm");
        }
        json.put("fan_in_fan_out", false);
        json.put("init_lora_weights", true);
        json.put("use_rslora", false);
        json.put("use_dora", false);
        json.putObject("rank_pattern");
        json.putObject("alpha_pattern");
        json.put("inference_mode", true);
        if (identityPooler) {
            // PEFT ignores keys it does not know; reading here uses it to take the pooler off again.
            json.put(HfModelDirectory.IDENTITY_POOLER, (double) HfModelDirectory.EPSILON);
        }
        try {
            Files.createDirectories(dir);
            Safetensors.write(out, dir.resolve(WEIGHTS), Map.of("format", "pt"));
            Json.PRETTY.writeValue(dir.resolve(CONFIG).toFile(), json);
        } catch (IOException e) {
            throw new DistillException("Cannot write adapter directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The {@code base_model_name_or_path} of an adapter directory, without reading its tensors (null: none). */
    public static String baseOf(Path dir) {
        try {
            JsonNode b = Json.MAPPER.readTree(dir.resolve(CONFIG).toFile()).path("base_model_name_or_path");
            return b.isTextual() && !b.asText().isBlank() ? b.asText() : null;
        } catch (IOException e) {
            throw new DistillException("Cannot read " + dir.resolve(CONFIG) + ": " + e.getMessage(), e);
        }
    }

    /** Reads an adapter directory written here or by PEFT for a BERT model. */
    public static PeftAdapter read(Path dir) {
        Path cfgFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(cfgFile) || !Files.isRegularFile(dir.resolve(WEIGHTS))) {
            throw new DistillException("Adapter directory " + dir + " needs " + CONFIG + " and " + WEIGHTS
                    + " (PEFT's save_pretrained writes both)");
        }
        JsonNode j;
        try {
            j = Json.MAPPER.readTree(cfgFile.toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read " + cfgFile + ": " + e.getMessage(), e);
        }
        List<String> problems = new ArrayList<>();
        if (!"LORA".equals(j.path("peft_type").asText())) {
            problems.add("peft_type is " + j.path("peft_type") + "; only LORA adapters load here");
        }
        for (String flag : new String[] {"use_dora", "use_rslora", "fan_in_fan_out"}) {
            if (j.path(flag).asBoolean(false)) {
                problems.add(flag + " is true; plain LoRA (use_dora, use_rslora and fan_in_fan_out false) loads here");
            }
        }
        for (String pattern : new String[] {"rank_pattern", "alpha_pattern"}) {
            if (j.path(pattern).size() > 0) {
                problems.add(pattern + " gives per-module values; adapters with one rank and alpha load here");
            }
        }
        if (j.hasNonNull("layers_to_transform") || j.hasNonNull("layer_replication")) {
            problems.add("layers_to_transform / layer_replication are not supported; adapters on every layer load here");
        }
        if (!problems.isEmpty()) {
            throw new DistillException(cfgFile + ": " + String.join("; ", problems));
        }
        int rank = j.path("r").asInt(8);
        float alpha = (float) j.path("lora_alpha").asDouble(8);
        float dropout = (float) j.path("lora_dropout").asDouble(0);
        List<String> targets = new ArrayList<>();
        JsonNode t = j.path("target_modules");
        if (t.isArray()) {
            t.forEach(x -> targets.add(x.asText()));
        } else if (t.isTextual()) {
            targets.add(t.asText());
        }
        String bias = j.path("bias").asText("none");
        Set<String> toSave = new LinkedHashSet<>();
        j.path("modules_to_save").forEach(x -> toSave.add(x.asText()));

        StateDict raw = Safetensors.read(dir.resolve(WEIGHTS));
        StateDict tensors = new StateDict(dir.toString());
        Set<String> modules = new LinkedHashSet<>();
        for (Map.Entry<String, Tensor> e : raw.tensors().entrySet()) {
            String n = e.getKey();
            if (!n.startsWith(PREFIX)) {
                throw new DistillException(dir.resolve(WEIGHTS) + ": tensor '" + n + "' is not named as PEFT names "
                        + "them (" + PREFIX + "<module path>.lora_A.weight, ...)");
            }
            n = n.substring(PREFIX.length());
            n = n.startsWith("bert.") ? n.substring(5) : n;
            n = n.replace(".modules_to_save.default.", ".");
            if (n.endsWith(".lora_A.weight") || n.endsWith(".lora_B.weight")) {
                modules.add(n.substring(0, n.length() - ".lora_A.weight".length()));
            } else if (n.contains(".lora_")) {
                throw new DistillException(dir.resolve(WEIGHTS) + ": tensor '" + e.getKey() + "' is a kind of LoRA "
                        + "tensor that does not load here (adapters on linear projections do)");
            }
            tensors.put(n, e.getValue());
        }
        if (modules.isEmpty()) {
            throw new DistillException(dir.resolve(WEIGHTS) + " holds no lora_A/lora_B tensors");
        }
        for (String m : modules) {
            Tensor a = tensors.get(m + ".lora_A.weight");
            Tensor b = tensors.get(m + ".lora_B.weight");
            if (a == null || b == null || a.shape()[0] != rank || b.shape()[1] != rank) {
                throw new DistillException(dir.resolve(WEIGHTS) + ": module " + m + " needs lora_A [" + rank
                        + ", in] and lora_B [out, " + rank + "] (r = " + rank + " in " + CONFIG + "), got "
                        + (a == null ? "no A" : a.shapeString()) + " and " + (b == null ? "no B" : b.shapeString()));
            }
        }
        if (j.has(HfModelDirectory.IDENTITY_POOLER)) {
            float eps = (float) j.get(HfModelDirectory.IDENTITY_POOLER).asDouble();
            tensors.remove("pooler.dense.weight");
            tensors.remove("pooler.dense.bias");
            Tensor w = tensors.get("classifier.weight");
            if (w != null) {
                tensors.put("classifier.weight", HfModelDirectory.scaled(w, eps));
            }
        }
        LoraConfig config = new LoraConfig(rank, alpha, dropout, targets.isEmpty() ? List.copyOf(modules) : targets,
                "all".equals(bias), toSave.contains("LayerNorm"));
        String base = j.path("base_model_name_or_path").isTextual() ? j.get("base_model_name_or_path").asText() : null;
        return new PeftAdapter(config, base, tensors, modules);
    }

    /**
     * The base checkpoint with this adapter folded in: each adapted weight becomes
     * {@code W + (alpha / r) · B A}, and the head and other tensors the adapter holds replace the
     * base's. The result runs at the plain model's cost.
     */
    public Checkpoint mergeInto(Checkpoint base) {
        StateDict w = new StateDict(base.weights().source() + " + " + tensors.source());
        base.weights().tensors().forEach(w::put);
        float scale = config.alpha() / config.rank();
        for (Map.Entry<String, Tensor> e : tensors.tensors().entrySet()) {
            String n = e.getKey();
            if (n.endsWith(".lora_B.weight")) {
                continue;
            }
            if (n.endsWith(".lora_A.weight")) {
                String m = n.substring(0, n.length() - ".lora_A.weight".length());
                Tensor weight = w.get(m + ".weight");
                if (weight == null) {
                    throw new DistillException(tensors.source() + ": the adapter is on " + m + ", which " + base.name()
                            + " does not have: is base_model_name_or_path (" + baseModel + ") the model it was trained on?");
                }
                w.put(m + ".weight", merged(weight, e.getValue(), tensors.get(m + ".lora_B.weight"), scale, m));
            } else {
                Tensor old = w.get(n);
                if (old != null && !java.util.Arrays.equals(old.shape(), e.getValue().shape())) {
                    throw new DistillException(tensors.source() + ": " + n + " is " + e.getValue().shapeString()
                            + " but " + base.name() + " has " + old.shapeString() + ": not the base it was trained on");
                }
                w.put(n, e.getValue());
            }
        }
        return new Checkpoint(base.name() + "+lora", base.config(), w, base.tokenizerJson());
    }

    /**
     * Puts this adapter's modules on {@code model} (the base, loaded) and sets their values and the
     * other tensors it holds: the model then runs with its adapters, unmerged.
     */
    public LoraAdapters attachTo(BertModel model) {
        LoraAdapters a = LoraAdapters.attach(model, config, modules);
        Map<String, ai.djl.nn.Parameter> params = model.namedParameters();
        Map<String, Tensor> missing = new LinkedHashMap<>();
        tensors.tensors().forEach((n, t) -> {
            ai.djl.nn.Parameter p = params.get(n);
            if (p == null) {
                missing.put(n, t);
            } else {
                StateDict.assign(p.getArray(), t);
            }
        });
        if (!missing.isEmpty()) {
            throw new DistillException(tensors.source() + ": the model has no parameter " + missing.keySet()
                    + " (a task head the model was not created with?)");
        }
        return a;
    }

    private static Tensor merged(Tensor w, Tensor a, Tensor b, float scale, String module) {
        int out = (int) w.shape()[0];
        int in = (int) w.shape()[1];
        int r = (int) a.shape()[0];
        if (a.shape()[1] != in || b.shape()[0] != out) {
            throw new DistillException("adapter on " + module + ": A " + a.shapeString() + " and B " + b.shapeString()
                    + " do not fit its weight " + w.shapeString());
        }
        float[] d = w.data().clone();
        float[] av = a.data();
        float[] bv = b.data();
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                float s = scale * bv[o * r + k];
                if (s == 0) {
                    continue;
                }
                int row = o * in;
                int arow = k * in;
                for (int i = 0; i < in; i++) {
                    d[row + i] += s * av[arow + i];
                }
            }
        }
        return new Tensor(w.shape().clone(), d);
    }
}
