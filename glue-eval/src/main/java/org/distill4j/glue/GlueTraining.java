package org.distill4j.glue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraAdapters;
import org.distill4j.weights.PeftAdapter;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.AtomicDirectory;
import org.distill4j.train.Examples;
import org.distill4j.train.SubNetwork;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;

/** What the generic {@link Trainer} needs from GLUE: training examples, dev scoring, model directories. */
public final class GlueTraining {


    private GlueTraining() {}

    /** A task's training examples, the first {@code limit} of them (0 = all). */
    public static Examples examples(Dataset train, int limit) {
        List<Example> ex = limit > 0 && limit < train.size() ? train.examples().subList(0, limit) : train.examples();
        float[] labels = new float[ex.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (float) ex.get(i).label();
        }
        boolean pairs = ex.get(0).textB() != null;
        return new Examples(ex.stream().map(Example::textA).toList(),
                pairs ? ex.stream().map(Example::textB).toList() : null, labels);
    }

    /**
     * Scores a model on the task's dev splits. The first split (MNLI: matched) decides the best
     * model; the others are reported with their split name in front of each metric.
     */
    public static Trainer.Evaluator evaluator(List<Dataset> devs, BertTokenizer tokenizer) {
        return evaluator(devs, tokenizer, List.of(SubNetwork.FULL));
    }

    /**
     * Scores every sub-network of {@code grid} on the first dev split and gives their mean as the
     * score that picks the best model (DynaBERT keeps the model best over all its widths and
     * depths); each one's score is a metric {@code score@NAME}. A grid of the whole network alone is
     * the plain evaluator.
     */
    public static Trainer.Evaluator evaluator(List<Dataset> devs, BertTokenizer tokenizer, List<SubNetwork> grid) {
        if (grid.size() == 1 && grid.get(0) == SubNetwork.FULL) {
            return plain(devs, tokenizer);
        }
        return model -> {
            Map<String, Double> metrics = new LinkedHashMap<>();
            StringBuilder summary = new StringBuilder();
            double sum = 0;
            for (SubNetwork n : grid) {
                TaskScore s = GlueEvaluator.score(devs.get(0), GlueEvaluator.predict(model, tokenizer, devs.get(0),
                        TrainerOptions.EVAL_BATCH_SIZE, n));
                metrics.put("score@" + n.name(), s.score());
                sum += s.score();
                summary.append(' ').append(n.name()).append(String.format(" %.2f", 100 * s.score()));
            }
            double mean = sum / grid.size();
            metrics.put("score", mean);
            return new Trainer.Score(mean, metrics, String.format("mean %.2f over %d sub-networks:", 100 * mean,
                    grid.size()) + summary);
        };
    }

    private static Trainer.Evaluator plain(List<Dataset> devs, BertTokenizer tokenizer) {
        return model -> {
            Map<String, Double> metrics = new LinkedHashMap<>();
            TaskScore first = null;
            StringBuilder summary = new StringBuilder();
            for (Dataset dev : devs) {
                TaskScore s = GlueEvaluator.score(dev, GlueEvaluator.predict(model, tokenizer, dev, TrainerOptions.EVAL_BATCH_SIZE));
                String prefix = first == null ? "" : dev.split().name() + "_";
                s.metrics().forEach((k, v) -> metrics.put(prefix + k, v));
                if (first != null) {
                    metrics.put(prefix + "score", s.score());
                }
                summary.append(summary.length() == 0 ? "" : " | ").append(dev.split().name()).append(' ')
                        .append(s.summary());
                first = first == null ? s : first;
            }
            return new Trainer.Score(first.score(), metrics, summary.toString());
        };
    }

    /** The task score of an evaluation (the first dev split's metrics). */
    public static TaskScore taskScore(Trainer.Score s) {
        Map<String, Double> m = new LinkedHashMap<>();
        s.metrics().forEach((k, v) -> {
            if (!k.contains("_")) {
                m.put(k, v);
            }
        });
        return new TaskScore(m, s.value());
    }

    /**
     * Writes a trained model as a HuggingFace directory plus {@code distill.json}, atomically. Head
     * tensors of {@code source} that the model does not carry (BERT-base's masked-LM head) are
     * kept, unchanged, so that later recipes can still use them.
     */
    public static void writeModel(Path dir, String name, BertModel model, Checkpoint source, ObjectNode info) {
        writeModel(dir, name, model, source, info, null);
    }

    /**
     * The file beside a general TinyBERT student's weights that holds its run's learned projections
     * W_e and W_h, which task distillation from it starts from; not part of the student.
     */
    public static final String PROJECTIONS_FILE = "projections.safetensors";

    /**
     * As above, with {@code projections} (when not null) written beside the model as
     * {@value #PROJECTIONS_FILE}, in the same replacement of the directory.
     */
    public static void writeModel(Path dir, String name, BertModel model, Checkpoint source, ObjectNode info,
            StateDict projections) {
        StateDict weights = StateDict.of(model, name);
        source.weights().tensors().forEach((k, v) -> {
            if (k.startsWith("cls.") && !weights.contains(k)) {
                weights.put(k, v);
            }
        });
        AtomicDirectory.write(dir, tmp -> {
            HfModelDirectory.write(new Checkpoint(name, model.config(), weights, source.tokenizerJson()), tmp,
                    HfModelDirectory.TaskHead.fromInfo(info));
            Json.PRETTY.writeValue(tmp.resolve("distill.json").toFile(), info);
            if (projections != null) {
                Safetensors.write(projections, tmp.resolve(PROJECTIONS_FILE), Map.of());
            }
        });
    }

    /**
     * Writes a model's LoRA adapters and head as a PEFT adapter directory, with {@code distill.json}
     * beside them; the directory is replaced whole, so a crash leaves the last complete one.
     *
     * @param base the model the adapters go on, as the run named it
     */
    public static void writeAdapter(Path dir, BertModel model, LoraAdapters adapters, String base, ObjectNode info) {
        AtomicDirectory.write(dir, tmp -> {
            PeftAdapter.write(tmp, model, adapters, base);
            Json.PRETTY.writeValue(tmp.resolve("distill.json").toFile(), info);
        });
    }

    /** Tokens per example when a command is given no other length and a model records none: BERT's fine-tuning length. */
    public static final int MAX_LENGTH = 128;

    /**
     * The task part of {@code distill.json}: task, labels, the length the model was trained at (which
     * evaluation then uses), and the dev metrics of an evaluation.
     */
    public static ObjectNode info(GlueTask task, Trainer.Evaluation e, int maxLength) {
        ObjectNode d = Json.MAPPER.createObjectNode();
        d.put("task", task.dirName());
        d.put("max_length", maxLength);
        if (!task.isRegression()) {
            task.labels().forEach(d.putArray("labels")::add);
        }
        d.put("step", e.step());
        d.put("epoch", e.epoch());
        d.put("dev_score", e.score().value());
        ObjectNode m = d.putObject("dev_metrics");
        e.score().metrics().forEach(m::put);
        return d;
    }

    /** The tokens per example a model directory was trained at ({@code distill.json}), else {@link #MAX_LENGTH}. */
    public static int maxLength(Path modelDir) {
        Path info = modelDir.resolve("distill.json");
        if (!Files.isRegularFile(info)) {
            return MAX_LENGTH;
        }
        try {
            return Json.MAPPER.readTree(info.toFile()).path("max_length").asInt(MAX_LENGTH);
        } catch (IOException e) {
            throw new DistillException("Cannot read " + info + ": " + e.getMessage(), e);
        }
    }

    /** The task {@code given} on the command line, else the one the model's distill.json names (warning on a mismatch). */
    public static GlueTask task(Path modelDir, String task) {
        Path info = modelDir.resolve("distill.json");
        String trained = null;
        if (Files.isRegularFile(info)) {
            try {
                trained = Json.MAPPER.readTree(info.toFile()).path("task").asText("");
            } catch (IOException e) {
                throw new DistillException("Cannot read " + info + ": " + e.getMessage(), e);
            }
        }
        if (task == null) {
            if (trained == null) {
                throw new DistillException(modelDir + " has no distill.json naming its task; pass --task");
            }
            return GlueTask.parse(trained);
        }
        GlueTask t = GlueTask.parse(task);
        if (trained != null && !trained.isEmpty() && GlueTask.parse(trained) != t) {
            System.err.printf("warning: %s was trained on %s (its distill.json), not %s: its labels may not mean "
                    + "%s's%n", modelDir, trained, t, t);
        }
        return t;
    }
}
