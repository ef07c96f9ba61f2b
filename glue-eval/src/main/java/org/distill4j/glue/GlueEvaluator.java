package org.distill4j.glue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.model.ForwardOptions;
import org.distill4j.train.SubNetwork;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/** Runs a task model over a GLUE split: predictions, scores, and the files GLUE users expect. */
public final class GlueEvaluator {


    private GlueEvaluator() {}

    /**
     * Predictions in example order: class indices, or the regression output for STS-B. Examples
     * are batched by length so padding stays small.
     */
    public static double[] predict(BertModel model, BertTokenizer tokenizer, Dataset data, int batchSize) {
        return predict(model, tokenizer, data, batchSize, SubNetwork.FULL);
    }

    /** Predictions of one sub-network of the model (a DynaBERT width and depth), the rest masked or skipped. */
    public static double[] predict(BertModel model, BertTokenizer tokenizer, Dataset data, int batchSize,
            SubNetwork net) {
        GlueTask task = data.task();
        if (model.heads().taskOutputs() != task.outputs()) {
            throw new DistillException("the model's task head has " + model.heads().taskOutputs() + " outputs but "
                    + task + " needs " + task.outputs());
        }
        List<Example> ex = data.examples();
        double[] out = new double[ex.size()];
        ParameterStore ps = new ParameterStore(model.manager(), false);
        try (NDManager masks = model.manager().newSubManager()) {
            ForwardOptions options = net == SubNetwork.FULL ? ForwardOptions.ALL : net.options(masks, model.config());
            for (List<Integer> idx : batches(ex, batchSize)) {
                float[] values = predictBatch(model, ps, tokenizer, ex, idx, options, task);
                for (int j = 0; j < idx.size(); j++) {
                    out[idx.get(j)] = values[j];
                }
            }
        }
        return out;
    }

    /**
     * The batches {@link #predict} forms: example indices sorted by length (so padding stays small),
     * cut into runs of {@code batchSize}. A distributed evaluation that predicts these same batches
     * gives the same numbers, whatever machine each batch runs on.
     */
    public static List<List<Integer>> batches(List<Example> ex, int batchSize) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < ex.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> length(ex.get(i))));
        List<List<Integer>> out = new ArrayList<>();
        for (int start = 0; start < order.size(); start += batchSize) {
            out.add(List.copyOf(order.subList(start, Math.min(order.size(), start + batchSize))));
        }
        return out;
    }

    /** Predictions for one batch of examples, in its order, from the full network. */
    public static double[] predictBatch(BertModel model, BertTokenizer tokenizer, GlueTask task, List<Example> batch) {
        if (model.heads().taskOutputs() != task.outputs()) {
            throw new DistillException("the model's task head has " + model.heads().taskOutputs() + " outputs but "
                    + task + " needs " + task.outputs());
        }
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            idx.add(i);
        }
        float[] values = predictBatch(model, new ParameterStore(model.manager(), false), tokenizer, batch, idx,
                ForwardOptions.ALL, task);
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static float[] predictBatch(BertModel model, ParameterStore ps, BertTokenizer tokenizer, List<Example> ex,
            List<Integer> idx, ForwardOptions options, GlueTask task) {
        TokenBatch b = batch(tokenizer, ex, idx);
        try (NDManager step = model.manager().newSubManager()) {
            NDArray logits = model.predict(ps, b.toInput(step), options);
            return task.isRegression() ? logits.reshape(-1).toFloatArray()
                    : logits.argMax(1).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        }
    }

    /** Timed passes per model: the median of five shrugs off a slow pass on a shared machine. */
    public static final int SPEED_ROUNDS = 5;

    /**
     * Inference speed: examples per second predicting the first {@code n} examples of a split in
     * batches of 32 with dynamic padding, after one warm-up pass; the median of {@link #SPEED_ROUNDS}
     * timed passes.
     */
    public static double examplesPerSecond(BertModel model, BertTokenizer tok, Dataset data, int n) {
        return examplesPerSecond(List.of(model), List.of(tok), data, n)[0];
    }

    /**
     * Inference speed of several models (each with its tokenizer) on the same examples, as {@link
     * #examplesPerSecond(BertModel, BertTokenizer, Dataset, int)}, timed in alternating rounds (one
     * pass of each model per round):
     * a load that comes and goes on the machine then slows all of them alike, and their ratio, the
     * speed-up, stays fair. A single pass each was seen to swing 1.7x between two passes of one model.
     */
    public static double[] examplesPerSecond(List<BertModel> models, List<BertTokenizer> toks, Dataset data,
            int n) {
        if (models.size() != toks.size()) {
            throw new IllegalArgumentException(models.size() + " models but " + toks.size() + " tokenizers");
        }
        List<Example> ex = data.examples().subList(0, Math.min(n, data.size()));
        Dataset slice = new Dataset(data.task(), data.split(), data.file(), ex, 0);
        for (int i = 0; i < models.size(); i++) {
            predict(models.get(i), toks.get(i), slice, 32);
        }
        double[][] seconds = new double[models.size()][SPEED_ROUNDS];
        for (int r = 0; r < SPEED_ROUNDS; r++) {
            for (int i = 0; i < models.size(); i++) {
                long t0 = System.nanoTime();
                predict(models.get(i), toks.get(i), slice, 32);
                seconds[i][r] = (System.nanoTime() - t0) / 1e9;
            }
        }
        double[] speed = new double[models.size()];
        for (int i = 0; i < speed.length; i++) {
            double[] t = seconds[i].clone();
            java.util.Arrays.sort(t);
            speed[i] = ex.size() / t[t.length / 2];
        }
        return speed;
    }

    /** Tokenizes the given examples of a dataset as one batch. */
    static TokenBatch batch(BertTokenizer tokenizer, List<Example> ex, List<Integer> idx) {
        List<String> a = idx.stream().map(i -> ex.get(i).textA()).toList();
        List<String> b = ex.get(idx.get(0)).textB() == null ? null : idx.stream().map(i -> ex.get(i).textB()).toList();
        return tokenizer.batch(a, b);
    }

    static int length(Example e) {
        return e.textA().length() + (e.textB() == null ? 0 : e.textB().length());
    }

    public static TaskScore score(Dataset data, double[] predictions) {
        if (!data.split().layout().labeled()) {
            throw new DistillException(data.file() + " is unlabeled (a test split); use predict for submission files");
        }
        return data.task().metric().score(predictions, data.labels());
    }

    /** Writes {@code metrics.json} and {@code predictions.tsv} (index, prediction, gold) for a labeled split. */
    public static void writeEvaluation(Path dir, Dataset data, double[] predictions, TaskScore score, String model) {
        try {
            Files.createDirectories(dir);
            ObjectNode n = Json.MAPPER.createObjectNode();
            n.put("task", data.task().dirName());
            n.put("split", data.split().name());
            n.put("model", model);
            n.put("examples", data.size());
            n.put("skipped_rows", data.skippedRows());
            ObjectNode metrics = n.putObject("metrics");
            score.metrics().forEach(metrics::put);
            n.put("score", score.score());
            String suffix = data.task().select("dev").size() > 1 ? "_" + data.split().name() : "";
            Json.PRETTY.writeValue(dir.resolve("metrics" + suffix + ".json").toFile(), n);
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(dir.resolve("predictions" + suffix + ".tsv"),
                    StandardCharsets.UTF_8))) {
                w.println("index\tprediction\tgold");
                for (int i = 0; i < data.size(); i++) {
                    Example e = data.examples().get(i);
                    w.println(e.index() + "\t" + label(data.task(), predictions[i]) + "\t" + label(data.task(), e.label()));
                }
            }
        } catch (IOException e) {
            throw new DistillException("Cannot write evaluation to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the GLUE submission file for a test split ({@code MRPC.tsv}, {@code MNLI-m.tsv}, ...):
     * {@code index<TAB>prediction}, with label names where GLUE expects names, STS-B clipped to [0, 5].
     */
    public static Path writeSubmission(Path dir, Dataset data, double[] predictions) {
        Split split = data.split();
        if (!split.isTest()) {
            throw new DistillException("split '" + split.name() + "' is not a test split; submission files are for test");
        }
        Path file = dir.resolve(split.submissionFile());
        try {
            Files.createDirectories(dir);
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
                w.println("index\tprediction");
                for (int i = 0; i < data.size(); i++) {
                    double p = data.task().isRegression() ? Math.max(0, Math.min(5, predictions[i])) : predictions[i];
                    w.println(data.examples().get(i).index() + "\t" + label(data.task(), p));
                }
            }
        } catch (IOException e) {
            throw new DistillException("Cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /** A prediction as GLUE writes it: the label name, or the score with three decimals. */
    static String label(GlueTask task, double value) {
        if (task.isRegression()) {
            return String.format(Locale.ROOT, "%.3f", value);
        }
        return task.labels().get((int) Math.round(value));
    }
}
