package org.distill4j.serve;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;

/**
 * Labels (or a regression score) for texts and text pairs from a model with a task head: a
 * fine-tuned or distilled directory, or its ONNX export. Thread-safe, batching each call's inputs;
 * close it to free the model's native memory.
 *
 * <pre>{@code
 * try (TextClassifier c = TextClassifier.load("runs/teachers/bge-small/RTE/best")) {
 *     Prediction p = c.predict("A man is playing a guitar.", "A man plays music.");
 * }
 * }</pre>
 */
public final class TextClassifier implements AutoCloseable {

    private final LoadedModel model;
    private final List<String> labels;

    TextClassifier(LoadedModel model) {
        this.model = model;
        int outputs = model.backend.outputs();
        if (outputs == 0) {
            model.close();
            throw new DistillException(model.name + " has no task head: fine-tune or distill it on a task first, or "
                    + "use TextEmbedder for its vectors");
        }
        List<String> known = model.info.labels();
        if (outputs == 1) {
            labels = List.of();
        } else if (known == null) {
            List<String> generic = new ArrayList<>();
            for (int i = 0; i < outputs; i++) {
                generic.add("LABEL_" + i);
            }
            labels = List.copyOf(generic);
        } else if (known.size() != outputs) {
            model.close();
            throw new DistillException(model.name + ": its head has " + outputs + " outputs but its files name "
                    + known.size() + " labels " + known);
        } else {
            labels = known;
        }
    }

    /** Loads a model with default options (DJL, the length it was trained at, batches of 32, truncating). */
    public static TextClassifier load(String model) {
        return load(model, InferenceOptions.defaults());
    }

    public static TextClassifier load(String model, InferenceOptions options) {
        return new TextClassifier(LoadedModel.open(model, options, true));
    }

    public Prediction predict(String text) {
        return predictAll(List.of(text), null).get(0);
    }

    public Prediction predict(String first, String second) {
        return predictAll(List.of(first), Collections.singletonList(second)).get(0);
    }

    /**
     * Predictions for texts or pairs, in input order.
     *
     * @param second null, or per text its second text (a pair) or null
     */
    public List<Prediction> predictAll(List<String> texts, List<String> second) {
        int outputs = model.backend.outputs();
        return model.run(texts, second, (batch, truncated) -> {
            float[] logits = model.backend.logits(batch);
            List<Prediction> rows = new ArrayList<>(batch.batchSize());
            for (int i = 0; i < batch.batchSize(); i++) {
                if (outputs == 1) {
                    rows.add(new Prediction(null, logits[i], Map.of(), batch.length(i), truncated[i]));
                    continue;
                }
                rows.add(classify(logits, i * outputs, batch.length(i), truncated[i]));
            }
            return rows;
        });
    }

    private Prediction classify(float[] logits, int offset, int tokens, boolean truncated) {
        int n = labels.size();
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            max = Math.max(max, logits[offset + k]);
        }
        double sum = 0;
        double[] e = new double[n];
        for (int k = 0; k < n; k++) {
            e[k] = Math.exp(logits[offset + k] - max);
            sum += e[k];
        }
        Map<String, Float> scores = new LinkedHashMap<>();
        int best = 0;
        for (int k = 0; k < n; k++) {
            scores.put(labels.get(k), (float) (e[k] / sum));
            best = e[k] > e[best] ? k : best;
        }
        return new Prediction(labels.get(best), (float) (e[best] / sum), scores, tokens, truncated);
    }

    /** Label names in output order; empty for a regression model. */
    public List<String> labels() {
        return labels;
    }

    public boolean isRegression() {
        return labels.isEmpty();
    }

    /** The GLUE task the model was trained on, or null if its files do not say. */
    public String task() {
        return model.info.task();
    }

    public int maxLength() {
        return model.maxLength();
    }

    public Backend backend() {
        return model.backend.kind();
    }

    public String modelName() {
        return model.name;
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public String toString() {
        return "TextClassifier[" + model.name + ", " + backend().id() + ", "
                + (isRegression() ? "regression" : "labels " + labels) + ", max " + maxLength() + " tokens]";
    }
}
