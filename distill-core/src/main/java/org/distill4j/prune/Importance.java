package org.distill4j.prune;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderOutput;
import org.distill4j.model.ForwardOptions;
import org.distill4j.model.Scalar;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.ConsoleProgress;
import org.distill4j.train.TrainingData;
import org.distill4j.weights.Checkpoint;

/**
 * How much the task loss depends on each attention head and feed-forward neuron: the first-order
 * estimate of the loss change when it is masked, {@code |∂L/∂m|} for a mask m of ones that
 * multiplies the head's attention probabilities or the neuron's activation (Michel et al. 2019,
 * as DynaBERT uses it), summed over examples and divided by their number. Measured on training
 * data: the reference code measures on the dev set, which then no longer measures the model.
 *
 * @param heads [layers][heads]
 * @param neurons [layers][intermediate]
 * @param examples the examples the sums ran over
 */
public record Importance(float[][] heads, float[][] neurons, int examples) {

    /**
     * Measures importance with the model's task head and the task loss (cross-entropy, MSE for a
     * regression) on {@code data}, without dropout. Parameters take no gradient meanwhile.
     *
     * @param progress told the number of examples done after each batch
     */
    public static Importance measure(BertModel model, BertTokenizer tokenizer, TrainingData data, boolean regression,
            int batchSize, IntConsumer progress) {
        if (model.heads().taskOutputs() == 0) {
            throw new DistillException("importance needs a model with a task head (a fine-tuned model directory): the "
                    + "task loss is what a head or neuron matters to");
        }
        int layers = model.config().numHiddenLayers();
        int nHeads = model.config().numAttentionHeads();
        int inner = model.config().intermediateSize();
        double[] headSum = new double[layers * nHeads];
        double[] neuronSum = new double[layers * inner];
        Map<Parameter, Boolean> wanted = new LinkedHashMap<>();
        model.namedParameters().values().forEach(p -> {
            wanted.put(p, p.getArray().hasGradient());
            p.getArray().setRequiresGradient(false);
        });
        // Batches of similar length, so padding costs little; the sums do not depend on the order.
        int[] lengths = data.lengths();
        Integer[] order = IntStream.range(0, data.size()).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(order, Comparator.comparingInt(i -> lengths[i]));
        int done = 0;
        try {
            ParameterStore ps = new ParameterStore(model.manager(), false);
            for (int from = 0; from < order.length; from += batchSize) {
                int[] idx = new int[Math.min(batchSize, order.length - from)];
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = order[from + i];
                }
                try (NDManager s = model.manager().newSubManager()) {
                    NDArray headMask = s.ones(new Shape(layers, nHeads));
                    NDArray ffnMask = s.ones(new Shape(layers, inner));
                    headMask.setRequiresGradient(true);
                    ffnMask.setRequiresGradient(true);
                    NDArray labels = s.create(data.labels(idx));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        EncoderOutput out = model.encode(ps, data.batch(tokenizer, idx).toInput(s),
                                new ForwardOptions(headMask, ffnMask, null), false);
                        NDArray logits = model.classify(ps, out, false);
                        // The batch's summed loss: importance per example, whatever the batch size.
                        gc.backward(Scalar.mul(HardLabelLoss.of(logits, labels, regression), idx.length));
                    }
                    add(headSum, headMask.getGradient().abs().toFloatArray());
                    add(neuronSum, ffnMask.getGradient().abs().toFloatArray());
                }
                done += idx.length;
                progress.accept(done);
            }
        } finally {
            wanted.forEach((p, g) -> p.getArray().setRequiresGradient(g));
        }
        return new Importance(rows(headSum, layers, nHeads, done), rows(neuronSum, layers, inner, done), done);
    }

    /**
     * Measures importance on a model as stored: the checkpoint is made into a model with its task
     * head, on {@code device}, and a progress bar shows the examples done.
     */
    public static Importance measure(Checkpoint c, int maxLength, TrainingData data, boolean regression,
            int batchSize, Device device) {
        try (NDManager m = NDManager.newBaseManager(device); BertModel model = c.toModel(m);
                BertTokenizer tok = c.tokenizer(maxLength);
                ProgressBar bar = ConsoleProgress.start("importance", data.size(), 0, " examples")) {
            return measure(model, tok, data, regression, batchSize, bar::stepTo);
        }
    }

    /** Refuses scores measured on a model of another shape than {@code c}. */
    void requireFits(Checkpoint c) {
        BertConfig cfg = c.config();
        if (heads.length != cfg.numHiddenLayers() || heads[0].length != cfg.numAttentionHeads()
                || neurons[0].length != cfg.intermediateSize()) {
            throw new DistillException("the importance scores are for " + heads.length + " layers of "
                    + heads[0].length + " heads and " + neurons[0].length + " neurons, but " + c.name() + " has "
                    + cfg.numHiddenLayers() + " of " + cfg.numAttentionHeads() + " and " + cfg.intermediateSize()
                    + ": measure them on this model");
        }
    }

    /** Heads of {@code layer}, most important first (ties keep their order). */
    public int[] headOrder(int layer) {
        return descending(heads[layer]);
    }

    /** Feed-forward neurons of {@code layer}, most important first. */
    public int[] neuronOrder(int layer) {
        return descending(neurons[layer]);
    }

    /** Writes the scores as JSON: {@code {"examples": N, "heads": [[...]...], "neurons": [[...]...]}}. */
    public void write(Path file) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("examples", examples);
        n.put("measure", "mean over examples of |dL/dmask|, task loss, training data");
        put(n.putArray("heads"), heads);
        put(n.putArray("neurons"), neurons);
        try {
            java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
            Json.MAPPER.writeValue(file.toFile(), n);
        } catch (IOException e) {
            throw new DistillException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads what {@link #write} wrote. */
    public static Importance read(Path file) {
        try {
            JsonNode n = Json.MAPPER.readTree(file.toFile());
            if (!n.path("heads").isArray() || !n.path("neurons").isArray()) {
                throw new DistillException(file + " is not an importance file (./distill importance writes one): it "
                        + "needs heads and neurons arrays");
            }
            return new Importance(matrix(n.get("heads")), matrix(n.get("neurons")), n.path("examples").asInt());
        } catch (IOException e) {
            throw new DistillException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static void add(double[] sum, float[] values) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] += values[i];
        }
    }

    private static float[][] rows(double[] sum, int rows, int cols, int examples) {
        float[][] out = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r][c] = (float) (sum[r * cols + c] / Math.max(1, examples));
            }
        }
        return out;
    }

    private static int[] descending(float[] v) {
        return IntStream.range(0, v.length).boxed().sorted((a, b) -> Float.compare(v[b], v[a]))
                .mapToInt(Integer::intValue).toArray();
    }

    private static void put(ArrayNode into, float[][] m) {
        for (float[] row : m) {
            ArrayNode r = into.addArray();
            for (float x : row) {
                r.add(x);
            }
        }
    }

    private static float[][] matrix(JsonNode n) {
        List<float[]> rows = new ArrayList<>();
        for (JsonNode row : n) {
            float[] r = new float[row.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) row.get(i).asDouble();
            }
            rows.add(r);
        }
        return rows.toArray(new float[0][]);
    }
}
