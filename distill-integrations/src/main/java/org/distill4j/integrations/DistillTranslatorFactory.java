package org.distill4j.integrations;

import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.translate.Batchifier;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distill4j.Json;
import org.distill4j.serve.Pooling;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.HfModelDirectory;

/**
 * Translators for DJL's {@code Criteria} on a model that {@code ./distill export} wrote (the
 * directory with {@code model.onnx}, {@code tokenizer.json} and {@code distill.json}), run by DJL's
 * ONNX Runtime engine:
 *
 * <pre>{@code
 * Criteria<String, float[]> c = Criteria.builder().setTypes(String.class, float[].class)
 *         .optModelPath(Path.of("runs/export/student")).optEngine("OnnxRuntime")
 *         .optTranslatorFactory(new DistillTranslatorFactory())
 *         .optArgument("pooling", "mean").build();
 * try (ZooModel<String, float[]> m = c.loadModel(); Predictor<String, float[]> p = m.newPredictor()) {
 *     float[] v = p.predict("some text");
 * }
 * }</pre>
 *
 * {@code String → float[]}: a sentence vector (arguments {@code pooling} mean|cls, default mean;
 * {@code normalize} true|false, default true). {@code String → Classifications}: the task head's
 * labels and probabilities (a model exported from a classifier). Argument {@code maxLength}
 * overrides the length the model was trained at.
 */
public final class DistillTranslatorFactory implements TranslatorFactory {

    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        return Set.of(new Pair<>(String.class, float[].class), new Pair<>(String.class, Classifications.class));
    }

    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(Class<I> input, Class<O> output, Model model, Map<String, ?> arguments)
            throws TranslateException {
        Path dir = model.getModelPath();
        JsonNode info = readInfo(dir);
        int maxLength = arguments.containsKey("maxLength") ? Integer.parseInt(arguments.get("maxLength").toString())
                : info.path("max_length").asInt(512);
        Path tokenizer = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizer)) {
            throw new TranslateException("No tokenizer.json in " + dir + ": export the model with ./distill export");
        }
        if (input == String.class && output == float[].class) {
            Pooling pooling = Pooling.parse(argument(arguments, "pooling", "mean"));
            boolean normalize = Boolean.parseBoolean(argument(arguments, "normalize", "true"));
            return (Translator<I, O>) new EmbeddingTranslator(BertTokenizer.fromFile(tokenizer, maxLength), pooling,
                    normalize);
        }
        if (input == String.class && output == Classifications.class) {
            HfModelDirectory.TaskHead head = HfModelDirectory.TaskHead.fromInfo(info);
            List<String> labels = head == null ? null : head.labels();
            if (labels == null || labels.isEmpty()) {
                throw new TranslateException(dir + "/distill.json names no labels: String -> Classifications needs a "
                        + "classifier exported with ./distill export");
            }
            return (Translator<I, O>) new ClassificationTranslator(BertTokenizer.fromFile(tokenizer, maxLength), labels);
        }
        throw new IllegalArgumentException("Unsupported types " + input + " -> " + output + "; supported: "
                + getSupportedTypes());
    }

    private static String argument(Map<String, ?> arguments, String name, String fallback) {
        Object v = arguments.get(name);
        return v == null ? fallback : v.toString();
    }

    private static JsonNode readInfo(Path dir) throws TranslateException {
        Path file = dir.resolve("distill.json");
        if (!Files.isRegularFile(file)) {
            return Json.MAPPER.createObjectNode();
        }
        try {
            return Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new TranslateException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** The three inputs under the names the exported graph takes. */
    static NDList inputs(NDManager manager, BertTokenizer tokenizer, String text) {
        TokenBatch b = tokenizer.batch(List.of(text), null);
        NDList list = new NDList(3);
        String[] names = {"input_ids", "attention_mask", "token_type_ids"};
        long[][] values = {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
        for (int i = 0; i < 3; i++) {
            NDArray a = manager.create(values[i], new ai.djl.ndarray.types.Shape(1, b.sequenceLength()));
            a.setName(names[i]);
            list.add(a);
        }
        return list;
    }

    private static NDArray output(NDList out, String name) {
        NDArray a = out.get(name);
        if (a == null) {
            throw new IllegalStateException("the model has no output '" + name + "'");
        }
        return a;
    }

    private abstract static class Base<O> implements Translator<String, O> {
        final BertTokenizer tokenizer;

        Base(BertTokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }

        @Override
        public NDList processInput(TranslatorContext ctx, String input) {
            return inputs(ctx.getNDManager(), tokenizer, input);
        }

        @Override
        public Batchifier getBatchifier() {
            return null; // texts differ in length: each runs on its own
        }
    }

    private static final class EmbeddingTranslator extends Base<float[]> {
        private final Pooling pooling;
        private final boolean normalize;

        EmbeddingTranslator(BertTokenizer tokenizer, Pooling pooling, boolean normalize) {
            super(tokenizer);
            this.pooling = pooling;
            this.normalize = normalize;
        }

        @Override
        public float[] processOutput(TranslatorContext ctx, NDList list) {
            NDArray hidden = output(list, "last_hidden_state").get(0); // [seq, hidden]; one text, no padding
            NDArray v = pooling == Pooling.CLS ? hidden.get(0) : hidden.mean(new int[] {0});
            if (normalize) {
                v = v.div(v.norm().maximum(1e-12f));
            }
            return v.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    private static final class ClassificationTranslator extends Base<Classifications> {
        private final List<String> labels;

        ClassificationTranslator(BertTokenizer tokenizer, List<String> labels) {
            super(tokenizer);
            this.labels = labels;
        }

        @Override
        public Classifications processOutput(TranslatorContext ctx, NDList list) {
            NDArray probs = output(list, "logits").get(0).softmax(0);
            return new Classifications(labels, probs);
        }
    }
}
