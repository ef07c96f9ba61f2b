package org.distill4j.glue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.DistillException;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.train.AdamW;
import org.distill4j.train.ConsoleProgress;
import org.distill4j.train.LengthBucketSampler;
import org.distill4j.train.LinearSchedule;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;

/**
 * Fine-tunes an encoder and a task head on a GLUE task: cross-entropy (MSE for STS-B), AdamW
 * with linear warm-up and decay, gradient clipping, length-bucketed batches with dynamic padding,
 * evaluation on dev after every epoch, the best epoch kept as a model directory. Checkpoints are
 * written atomically; a resumed run continues exactly where the checkpoint left off, because data
 * order comes from (seed, epoch) and dropout is reseeded from (seed, step) at every step.
 */
public final class FineTuner {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The outcome of a run. */
    public record Result(Path bestModel, int bestEpoch, TaskScore bestScore, List<TaskScore> epochScores,
            double seconds) {}

    private final FineTuneConfig cfg;
    private int abortAfterStep;
    private int skippedInARow;

    /** Consecutive skipped updates that end a run: one bad batch is noise, five is divergence. */
    static final int MAX_SKIPPED_IN_A_ROW = 5;

    public FineTuner(FineTuneConfig cfg) {
        this.cfg = cfg;
    }

    /** Thrown by a run stopped with {@link #abortAfterStep}, as a crash would stop it. */
    static final class Aborted extends RuntimeException {
        Aborted(int step) {
            super("run aborted after step " + step);
        }
    }

    /** Makes the run stop abruptly after this step, without writing anything (tests of resume). */
    FineTuner abortAfterStep(int step) {
        this.abortAfterStep = step;
        return this;
    }

    public Result run(boolean resume) {
        GlueTask task = cfg.task();
        Dataset train = GlueReader.read(cfg.glueDir(), task, task.train(), cfg.skipBadRows());
        List<Example> examples = cfg.trainLimit() > 0 && cfg.trainLimit() < train.size()
                ? train.examples().subList(0, cfg.trainLimit()) : train.examples();
        List<Dataset> devs = task.select("dev").stream()
                .map(s -> GlueReader.read(cfg.glueDir(), task, s, cfg.skipBadRows())).toList();
        if (train.skippedRows() > 0) {
            System.err.printf("skipped %d malformed rows of %s%n", train.skippedRows(), train.file());
        }
        int[] lengths = examples.stream().mapToInt(GlueEvaluator::length).toArray();
        LengthBucketSampler sampler = new LengthBucketSampler(lengths, cfg.batchSize(), cfg.seed());
        int perEpoch = sampler.batchesPerEpoch();
        LinearSchedule schedule = LinearSchedule.withWarmupFraction(cfg.learningRate(), FineTuneConfig.WARMUP_FRACTION,
                perEpoch * cfg.epochs());
        Path ckptDir = cfg.out().resolve("checkpoint");
        Checkpoint source = Checkpoint.load(cfg.model());
        Engine.getInstance().setRandomSeed((int) cfg.seed()); // the head's initialisation
        long started = System.nanoTime();
        try (NDManager root = NDManager.newBaseManager();
                BertModel model = source.toModel(root, new BertModel.Heads(false, false, task.outputs()));
                BertTokenizer tok = source.tokenizer(cfg.maxLength());
                AdamW adam = new AdamW(model.namedParameters(), FineTuneConfig.WEIGHT_DECAY, root)) {
            Progress p = new Progress();
            if (resume && Files.isDirectory(ckptDir)) {
                p = restore(ckptDir, model, adam);
                System.err.printf("resumed from %s: epoch %d, batch %d, step %d%n", ckptDir, p.epoch + 1, p.batch,
                        p.step);
            } else {
                writeRunFile();
            }
            ParameterStore ps = new ParameterStore(root, false);
            for (; p.epoch < cfg.epochs(); p.epoch++, p.batch = 0) {
                List<int[]> batches = sampler.epoch(p.epoch);
                try (ProgressBar bar = ConsoleProgress.start(task + " epoch " + (p.epoch + 1) + "/" + cfg.epochs(),
                        perEpoch, p.batch, " batches")) {
                    long epochStart = System.nanoTime();
                    int seen = 0;
                    double lossSum = 0;
                    for (; p.batch < batches.size(); p.batch++) {
                        int[] idx = batches.get(p.batch);
                        float loss = trainStep(model, ps, tok, adam, examples, idx, schedule.at(p.step), p.step);
                        p.step++;
                        if (p.step == abortAfterStep) {
                            throw new Aborted(p.step);
                        }
                        seen += idx.length;
                        lossSum += Float.isNaN(loss) ? 0 : loss;
                        double rate = seen / ((System.nanoTime() - epochStart) / 1e9);
                        bar.step();
                        bar.setExtraMessage(String.format(" loss %.4f  %.1f ex/s", loss, rate));
                        if (p.step % 50 == 0) {
                            appendMetrics(Map.of("step", p.step, "epoch", p.epoch + 1, "loss", lossSum / 50,
                                    "lr", schedule.at(p.step - 1), "examples_per_second", rate));
                            lossSum = 0;
                        }
                        if (cfg.checkpointEvery() > 0 && p.step % cfg.checkpointEvery() == 0
                                && p.batch + 1 < batches.size()) {
                            save(ckptDir, model, adam, p, p.epoch, p.batch + 1);
                        }
                    }
                }
                TaskScore score = evaluate(model, tok, devs, p);
                p.scores.add(score);
                if (p.best == null || score.score() > p.best.score()) {
                    p.best = score;
                    p.bestEpoch = p.epoch + 1;
                    writeBest(source, model, score, p.bestEpoch);
                }
                save(ckptDir, model, adam, p, p.epoch + 1, 0);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            return new Result(cfg.out().resolve("best"), p.bestEpoch, p.best, p.scores, seconds);
        }
    }

    private float trainStep(BertModel model, ParameterStore ps, BertTokenizer tok, AdamW adam, List<Example> ex,
            int[] idx, float lr, int step) {
        List<Integer> ids = java.util.Arrays.stream(idx).boxed().toList();
        TokenBatch b = GlueEvaluator.batch(tok, ex, ids);
        float value;
        try (NDManager s = model.manager().newSubManager()) {
            // Dropout masks depend only on (seed, step): a resumed run draws the same ones.
            Engine.getInstance().setRandomSeed((int) (cfg.seed() * 1_000_003L + step));
            float[] gold = new float[idx.length];
            for (int i = 0; i < idx.length; i++) {
                gold[i] = (float) ex.get(idx[i]).label();
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = model.classify(ps, model.encode(ps, b.toInput(s), true), true);
                NDArray y = s.create(gold);
                NDArray loss = cfg.task().isRegression()
                        ? out.reshape(-1).sub(y).square().mean()
                        : out.logSoftmax(-1).mul(y.toType(ai.djl.ndarray.types.DataType.INT64, false)
                                .oneHot(cfg.task().outputs())).sum(new int[] {1}).mean().neg();
                value = loss.getFloat();
                if (!Float.isFinite(value)) {
                    return skip(step, "loss " + value + " on examples " + java.util.Arrays.toString(idx));
                }
                gc.backward(loss);
            }
            float norm = adam.step(lr, FineTuneConfig.MAX_GRAD_NORM);
            if (!Float.isFinite(norm)) {
                return skip(step, "gradient norm " + norm + ", non-finite in " + adam.nonFiniteParameters());
            }
        }
        skippedInARow = 0;
        return value;
    }

    /** A step whose update was skipped; the run goes on unless it keeps happening. */
    private float skip(int step, String why) {
        skippedInARow++;
        System.err.printf("%nwarning: step %d skipped: %s%n", step, why);
        appendMetrics(Map.of("step", step, "skipped", why));
        if (skippedInARow >= MAX_SKIPPED_IN_A_ROW) {
            throw new DistillException(skippedInARow + " steps in a row had non-finite values (last: step " + step
                    + ": " + why + "); the run diverged: lower --lr (now " + cfg.learningRate() + ")");
        }
        return Float.NaN;
    }

    private TaskScore evaluate(BertModel model, BertTokenizer tok, List<Dataset> devs, Progress p) {
        TaskScore first = null;
        for (Dataset dev : devs) {
            double[] pred = GlueEvaluator.predict(model, tok, dev, 64);
            TaskScore s = GlueEvaluator.score(dev, pred);
            System.err.printf("%s %s epoch %d: %s%n", cfg.task(), dev.split().name(), p.epoch + 1, s.summary());
            java.util.LinkedHashMap<String, Object> line = new java.util.LinkedHashMap<>();
            line.put("step", p.step);
            line.put("epoch", p.epoch + 1);
            line.put("eval_split", dev.split().name());
            s.metrics().forEach(line::put);
            line.put("score", s.score());
            appendMetrics(line);
            first = first == null ? s : first; // MNLI: matched selects the best epoch
        }
        return first;
    }

    private void writeBest(Checkpoint source, BertModel model, TaskScore score, int epoch) {
        Path best = cfg.out().resolve("best");
        Path tmp = cfg.out().resolve("best.tmp");
        deleteTree(tmp);
        HfModelDirectory.write(new Checkpoint("fine-tuned " + source.name(), source.config(),
                StateDict.of(model, "fine-tuned"), source.tokenizerJson()), tmp);
        ObjectNode d = JSON.createObjectNode();
        d.put("task", cfg.task().dirName());
        if (!cfg.task().isRegression()) {
            d.putPOJO("labels", cfg.task().labels());
        }
        d.put("base_model", cfg.model());
        d.put("epoch", epoch);
        d.put("dev_score", score.score());
        ObjectNode m = d.putObject("dev_metrics");
        score.metrics().forEach(m::put);
        d.putPOJO("fine_tune", cfg.toString());
        try {
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("distill.json").toFile(), d);
        } catch (IOException e) {
            throw new DistillException("Cannot write " + tmp.resolve("distill.json") + ": " + e.getMessage(), e);
        }
        replace(tmp, best);
    }

    /**
     * Model weights, optimizer moments and progress, written beside the old checkpoint and swapped
     * in. {@code epoch} and {@code batch} are where a resumed run starts.
     */
    private void save(Path dir, BertModel model, AdamW adam, Progress p, int epoch, int batch) {
        Path tmp = dir.resolveSibling("checkpoint.tmp");
        deleteTree(tmp);
        try {
            Files.createDirectories(tmp);
            Safetensors.write(StateDict.of(model, "checkpoint"), tmp.resolve("model.safetensors"), Map.of());
            adam.save(tmp.resolve("optimizer.safetensors"));
            ObjectNode n = JSON.createObjectNode();
            n.put("epoch", epoch);
            n.put("batch", batch);
            n.put("step", p.step);
            n.put("best_epoch", p.bestEpoch);
            n.putPOJO("scores", p.scores);
            n.putPOJO("best", p.best);
            n.put("config", cfg.toString());
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("state.json").toFile(), n);
        } catch (IOException e) {
            throw new DistillException("Cannot write checkpoint " + tmp + ": " + e.getMessage(), e);
        }
        replace(tmp, dir);
    }

    private Progress restore(Path dir, BertModel model, AdamW adam) {
        try {
            JsonNode n = JSON.readTree(dir.resolve("state.json").toFile());
            if (!n.path("config").asText().equals(cfg.toString())) {
                throw new DistillException("checkpoint " + dir + " was written by a different configuration:\n  "
                        + n.path("config").asText() + "\nnot\n  " + cfg + "\nuse another --out or drop --resume");
            }
            Safetensors.read(dir.resolve("model.safetensors")).copyInto(model);
            Progress p = new Progress();
            p.epoch = n.path("epoch").asInt();
            p.batch = n.path("batch").asInt();
            p.step = n.path("step").asInt();
            p.bestEpoch = n.path("best_epoch").asInt();
            for (JsonNode s : n.path("scores")) {
                p.scores.add(JSON.treeToValue(s, TaskScore.class));
            }
            p.best = n.path("best").isNull() || n.path("best").isMissingNode() ? null
                    : JSON.treeToValue(n.path("best"), TaskScore.class);
            adam.load(dir.resolve("optimizer.safetensors"), p.step);
            return p;
        } catch (IOException e) {
            throw new DistillException("Cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    private void writeRunFile() {
        try {
            Files.createDirectories(cfg.out());
            Files.deleteIfExists(cfg.out().resolve("metrics.jsonl"));
            Files.writeString(cfg.out().resolve("run.txt"), cfg + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DistillException("Cannot write to " + cfg.out() + ": " + e.getMessage(), e);
        }
    }

    private void appendMetrics(Map<String, ?> line) {
        try {
            Files.writeString(cfg.out().resolve("metrics.jsonl"), JSON.writeValueAsString(line) + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new DistillException("Cannot append to " + cfg.out().resolve("metrics.jsonl") + ": " + e.getMessage(),
                    e);
        }
    }

    /** Swaps a freshly written directory into place; the old one is removed only after the rename. */
    private static void replace(Path fresh, Path target) {
        Path old = target.resolveSibling(target.getFileName() + ".old");
        try {
            deleteTree(old);
            if (Files.exists(target)) {
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(old);
        } catch (IOException e) {
            throw new DistillException("Cannot move " + fresh + " to " + target + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        } catch (IOException e) {
            throw new DistillException("Cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Where a run stands; saved in checkpoints. */
    private static final class Progress {
        int epoch;
        int batch;
        int step;
        int bestEpoch;
        TaskScore best;
        final List<TaskScore> scores = new ArrayList<>();
    }
}
