package org.distill4j.glue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.Tensor;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Gathers fine-tuned or distilled models' dev scores into a comparison: a markdown table (models
 * by tasks, with the GLUE average, parameters and measured inference speed), the same as JSON,
 * a PNG bar chart, and per task a PNG of score against measured speed with the Pareto front. Scores are re-measured on the dev set, not copied from training logs.
 */
public final class GlueReport {


    /**
     * One model on one task.
     *
     * @param model the name a row is grouped by (the base model of a fine-tuning run)
     * @param dir the model directory
     * @param task the task
     * @param scores dev scores (two for MNLI)
     * @param parameters scalar parameters, heads included
     * @param nonZero the parameters that are not zero (fewer after magnitude pruning, which stores
     *     its zeros)
     * @param examplesPerSecond dev examples per second, batch 32, dynamic padding, this machine
     */
    public record Entry(String model, Path dir, GlueTask task, List<TaskScore> scores, long parameters,
            long nonZero, double examplesPerSecond) {}

    private GlueReport() {}

    /**
     * Evaluates each run: {@code RUN/best} if present, else {@code RUN} itself as a model directory
     * whose {@code distill.json} names the task. The models of one task are timed together, in
     * alternating rounds ({@link GlueEvaluator#examplesPerSecond(List, List, Dataset, int)}), so
     * their speeds compare like with like.
     *
     * @param speedExamples dev examples timed for speed (0 to skip timing)
     */
    public static List<Entry> collect(List<Path> runs, Path glueDir, int speedExamples) {
        List<Found> found = runs.stream().map(GlueReport::find).toList();
        List<BertModel> models = new ArrayList<>();
        List<BertTokenizer> toks = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            List<List<TaskScore>> scores = new ArrayList<>();
            Map<GlueTask, Dataset> firstDev = new LinkedHashMap<>();
            for (Found f : found) {
                BertModel model = f.ckpt().toModel(m);
                models.add(model);
                BertTokenizer tok = f.ckpt().tokenizer(GlueTraining.maxLength(f.dir()));
                toks.add(tok);
                List<TaskScore> s = new ArrayList<>();
                for (Split split : f.task().select("dev")) {
                    Dataset dev = GlueReader.read(glueDir, f.task(), split, false);
                    firstDev.putIfAbsent(f.task(), dev);
                    s.add(GlueEvaluator.score(dev, GlueEvaluator.predict(model, tok, dev, TrainerOptions.EVAL_BATCH_SIZE)));
                }
                scores.add(s);
                System.err.printf("%s %s: %s%n", f.name(), f.task(), s.get(0).summary());
            }
            double[] speed = new double[found.size()];
            if (speedExamples > 0) {
                for (GlueTask task : firstDev.keySet()) {
                    List<Integer> idx = java.util.stream.IntStream.range(0, found.size())
                            .filter(i -> found.get(i).task() == task).boxed().toList();
                    System.err.printf("timing %d model(s) on %s, %d rounds ...%n", idx.size(), task,
                            GlueEvaluator.SPEED_ROUNDS);
                    double[] v = GlueEvaluator.examplesPerSecond(idx.stream().map(models::get).toList(),
                            idx.stream().map(toks::get).toList(), firstDev.get(task), speedExamples);
                    for (int j = 0; j < idx.size(); j++) {
                        speed[idx.get(j)] = v[j];
                    }
                }
            }
            List<Entry> out = new ArrayList<>();
            for (int i = 0; i < found.size(); i++) {
                Found f = found.get(i);
                long params = f.ckpt().weights().tensors().values().stream().mapToLong(Tensor::size).sum();
                long nonZero = f.ckpt().weights().tensors().values().stream()
                        .mapToLong(t -> t.size() - Tensor.zeros(t.data())).sum();
                out.add(new Entry(f.name(), f.dir(), f.task(), scores.get(i), params, nonZero, speed[i]));
            }
            return out;
        } finally {
            models.forEach(BertModel::close);
            toks.forEach(BertTokenizer::close);
        }
    }

    /** A run's model directory, what its distill.json says of it, and its weights. */
    private record Found(Path dir, GlueTask task, String name, Checkpoint ckpt) {}

    /** {@code RUN/best} if present, else {@code RUN} itself. */
    private static Found find(Path run) {
        Path dir = Files.isDirectory(run.resolve("best")) ? run.resolve("best") : run;
        JsonNode info = readInfo(dir);
        return new Found(dir, GlueTask.parse(info.path("task").asText()),
                info.path("base_model").asText(dir.toString()), Checkpoint.load(dir.toString()));
    }

    private static JsonNode readInfo(Path dir) {
        Path f = dir.resolve("distill.json");
        try {
            return Json.MAPPER.readTree(f.toFile());
        } catch (IOException e) {
            throw new DistillException(dir + " is not a fine-tuned model directory (no readable distill.json): "
                    + e.getMessage(), e);
        }
    }

    /** Writes {@code report.md}, {@code report.json} and {@code report.png} into {@code out}. */
    public static void write(List<Entry> entries, Path out) {
        Set<String> models = new LinkedHashSet<>();
        Set<GlueTask> tasks = new java.util.TreeSet<>();
        Map<String, Map<GlueTask, Entry>> grid = new LinkedHashMap<>();
        for (Entry e : entries) {
            models.add(e.model());
            tasks.add(e.task());
            grid.computeIfAbsent(e.model(), k -> new LinkedHashMap<>()).put(e.task(), e);
        }
        try {
            Files.createDirectories(out);
            Files.writeString(out.resolve("report.md"), markdown(models, tasks, grid));
            Json.PRETTY.writeValue(out.resolve("report.json").toFile(), json(entries));
            chart(models, tasks, grid, out.resolve("report.png"));
            for (GlueTask t : tasks) {
                List<Entry> timed = entries.stream().filter(e -> e.task() == t && e.examplesPerSecond() > 0).toList();
                if (timed.size() > 1) {
                    speedChart(t, timed, out.resolve("speed-" + t.dirName() + ".png"));
                }
            }
        } catch (IOException e) {
            throw new DistillException("Cannot write report to " + out + ": " + e.getMessage(), e);
        }
    }

    /**
     * The entries of a report written before ({@code DIR/report.json}), to draw its tables and charts
     * again without evaluating or timing anything.
     */
    public static List<Entry> read(Path reportDir) {
        Path f = reportDir.resolve("report.json");
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(f.toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read " + f + " (written by ./distill report): " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) {
            throw new DistillException(f + " is not a report: expected a JSON array of models");
        }
        List<Entry> out = new ArrayList<>();
        for (JsonNode n : root) {
            String where = f + ", entry " + (out.size() + 1);
            for (String field : List.of("model", "dir", "task", "dev", "parameters", "dev_examples_per_second")) {
                if (n.path(field).isMissingNode()) {
                    throw new DistillException(where + ": missing \"" + field + "\"");
                }
            }
            List<TaskScore> scores = new ArrayList<>();
            for (JsonNode sn : n.get("dev")) {
                Map<String, Double> metrics = new LinkedHashMap<>();
                sn.fields().forEachRemaining(m -> {
                    if (!m.getKey().equals("score")) {
                        metrics.put(m.getKey(), m.getValue().asDouble());
                    }
                });
                scores.add(new TaskScore(metrics, sn.path("score").asDouble()));
            }
            if (scores.isEmpty()) {
                throw new DistillException(where + ": \"dev\" holds no scores");
            }
            GlueTask task;
            try {
                task = GlueTask.parse(n.get("task").asText());
            } catch (RuntimeException e) {
                throw new DistillException(where + ": " + e.getMessage(), e);
            }
            long params = n.get("parameters").asLong();
            out.add(new Entry(n.get("model").asText(), Path.of(n.get("dir").asText()), task, scores, params,
                    n.path("nonzero_parameters").asLong(params), n.get("dev_examples_per_second").asDouble()));
        }
        return out;
    }

    static String markdown(Set<String> models, Set<GlueTask> tasks, Map<String, Map<GlueTask, Entry>> grid) {
        StringBuilder sb = new StringBuilder("| model |");
        for (GlueTask t : tasks) {
            sb.append(' ').append(t).append(" (").append(metricName(t)).append(") |");
        }
        sb.append(" average | parameters | dev examples/s |\n|---|");
        sb.append("---|".repeat(tasks.size())).append("---|---|---|\n");
        for (String m : models) {
            Map<GlueTask, Entry> row = grid.get(m);
            sb.append("| ").append(m).append(" |");
            Map<GlueTask, List<TaskScore>> byTask = new LinkedHashMap<>();
            for (GlueTask t : tasks) {
                Entry e = row.get(t);
                if (e == null) {
                    sb.append(" – |");
                    continue;
                }
                byTask.put(t, e.scores());
                sb.append(' ').append(e.scores().stream().map(s -> pct(s.score())).reduce((a, b) -> a + "/" + b)
                        .orElse("")).append(" |");
            }
            Entry any = row.values().iterator().next();
            sb.append(' ').append(byTask.size() == tasks.size() ? pct(TaskScore.glueAverage(byTask)) : "–");
            sb.append(" | ").append(parameters(any));
            double speed = row.values().stream().mapToDouble(Entry::examplesPerSecond).average().orElse(0);
            sb.append(" | ").append(speed > 0 ? String.format(Locale.ROOT, "%.0f", speed) : "–").append(" |\n");
        }
        return sb.toString();
    }

    /** "33.2 M", or "33.2 M (3.3 M non-zero)" for a model with more than 1% zeros. */
    static String parameters(Entry e) {
        String all = String.format(Locale.ROOT, "%.1f M", e.parameters() / 1e6);
        return e.nonZero() < 0.99 * e.parameters()
                ? all + String.format(Locale.ROOT, " (%.1f M non-zero)", e.nonZero() / 1e6) : all;
    }

    private static String metricName(GlueTask t) {
        return switch (t.metric()) {
            case ACCURACY -> "acc";
            case F1_ACCURACY -> "F1/acc";
            case MATTHEWS -> "MCC";
            case PEARSON_SPEARMAN -> "Pearson/Spearman";
        };
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f", 100 * v);
    }

    private static ArrayNode json(List<Entry> entries) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (Entry e : entries) {
            ObjectNode n = a.addObject();
            n.put("model", e.model());
            n.put("dir", e.dir().toString());
            n.put("task", e.task().dirName());
            ArrayNode scores = n.putArray("dev");
            for (TaskScore s : e.scores()) {
                ObjectNode sn = scores.addObject();
                s.metrics().forEach(sn::put);
                sn.put("score", s.score());
            }
            n.put("parameters", e.parameters());
            n.put("nonzero_parameters", e.nonZero());
            n.put("dev_examples_per_second", e.examplesPerSecond());
        }
        return a;
    }

    /**
     * The models whose score no faster model beats, fastest first: what a deployment picks from.
     * A model is on the front when every faster one scores lower.
     */
    static List<Entry> paretoFront(List<Entry> entries) {
        List<Entry> bySpeed = new ArrayList<>(entries);
        bySpeed.sort((a, b) -> Double.compare(b.examplesPerSecond(), a.examplesPerSecond()));
        List<Entry> front = new ArrayList<>();
        double best = Double.NEGATIVE_INFINITY;
        for (Entry e : bySpeed) {
            double score = e.scores().get(0).score();
            if (score > best) {
                front.add(e);
                best = score;
            }
        }
        return front;
    }

    /** Score against measured speed for one task, a point per model, the Pareto front drawn through. */
    private static void speedChart(GlueTask task, List<Entry> entries, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(560).title(task + " dev score against speed")
                .xAxisTitle("dev examples per second (batch 32, this machine)").yAxisTitle("score (x100)").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(10);
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            String name = e.model() + (entries.stream().filter(x -> x.model().equals(e.model())).count() > 1
                    ? " " + e.dir() : "");
            XYSeries s = chart.addSeries(name, new double[] {e.examplesPerSecond()},
                    new double[] {100 * e.scores().get(0).score()});
            s.setMarker(marker(i)).setMarkerColor(color(i));
        }
        List<Entry> front = paretoFront(entries);
        XYSeries line = chart.addSeries("Pareto front", front.stream().mapToDouble(Entry::examplesPerSecond).toArray(),
                front.stream().mapToDouble(e -> 100 * e.scores().get(0).score()).toArray());
        line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        line.setMarker(SeriesMarkers.NONE).setLineColor(Color.DARK_GRAY);
        String file = png.toString();
        BitmapEncoder.saveBitmap(chart, file.substring(0, file.length() - 4), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void chart(Set<String> models, Set<GlueTask> tasks, Map<String, Map<GlueTask, Entry>> grid, Path png)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500).title("GLUE dev scores")
                .xAxisTitle("task").yAxisTitle("score (x100)").build();
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(100.0);
        List<String> names = tasks.stream().map(GlueTask::dirName).toList();
        int i = 0;
        for (String m : models) {
            List<Double> ys = new ArrayList<>();
            for (GlueTask t : tasks) {
                Entry e = grid.get(m).get(t);
                ys.add(e == null ? 0.0 : 100 * e.scores().get(0).score());
            }
            chart.addSeries(m, names, ys).setFillColor(color(i++));
        }
        String file = png.toString();
        BitmapEncoder.saveBitmap(chart, file.substring(0, file.length() - 4), BitmapEncoder.BitmapFormat.PNG);
    }

    /*
     * XChart's default theme repeats its 12 colours, so a grid of DynaBERT cells with the teacher
     * beside them drew two models alike. 19 of Kelly's 22 colours of maximum contrast (white and buff
     * vanish on the white plot, olive green reads as black) and 6 filled markers (thin crosses vanish
     * too), cycles prime to each other, give 114 series before a colour and marker pair comes round again.
     */
    private static final Color[] COLORS = {new Color(0x0067A5), new Color(0xF38400), new Color(0x008856),
        new Color(0xBE0032), new Color(0x875692), new Color(0xF3C300), new Color(0x848482), new Color(0xA1CAF1),
        new Color(0x882D17), new Color(0x8DB600), new Color(0xE68FAC), new Color(0x604E97),
        new Color(0xF99379), new Color(0x222222), new Color(0xB3446C), new Color(0xDCD300), new Color(0x654522),
        new Color(0xE25822), new Color(0xF6A600)};
    private static final Marker[] MARKERS = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND, SeriesMarkers.SQUARE,
        SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN, SeriesMarkers.TRAPEZOID};

    static Color color(int series) {
        return COLORS[series % COLORS.length];
    }

    static Marker marker(int series) {
        return MARKERS[series % MARKERS.length];
    }
}
