package org.distill4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.DistillException;
import org.distill4j.loss.LossTerm;
import org.distill4j.loss.StepContext;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * The one training loop every recipe runs: a student, an optional frozen teacher, and a list of
 * weighted {@link LossTerm}s. AdamW with linear warm-up and decay, global-norm clipping, gradient
 * accumulation, length-bucketed batches with dynamic padding, evaluation every N updates (or per
 * epoch) and at the end, best-model selection, a progress bar with each loss term, a
 * {@code metrics.jsonl} line per logging interval and per evaluation, and atomic checkpoints.
 *
 * <p>Exact resume: the batch order depends only on (seed, epoch), and every micro-batch reseeds
 * dropout and the step's random source from (seed, micro-batch index). A checkpoint holds the
 * student, learned loss parameters, optimizer moments and the position, so a resumed run makes
 * the same updates as one that never stopped. Teacher outputs cached before training are read
 * back from their file ({@link TeacherCache}) rather than computed again, so a resumed run also
 * sees the very teacher outputs the first one did.
 *
 * <p>Devices and precision: the trainer runs where the student's parameters live (see
 * {@link DeviceChoice}); with {@link Precision#FP16} the encoders compute in half precision on
 * working copies while AdamW keeps fp32 master weights and the loss is scaled dynamically
 * ({@link MixedPrecision}, {@link LossScaler}). The next batch is tokenized on a background thread.
 *
 * <p>Memory: each micro-batch opens its own NDManager; everything but parameters and optimizer
 * state is freed when it closes.
 */
public final class Trainer {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Consecutive skipped updates that end a run: one bad batch is noise, five is divergence. */
    static final int MAX_SKIPPED_IN_A_ROW = 5;

    /** The longest a run goes without a checkpoint, unless {@link #checkpointAtLeastEvery} says otherwise. */
    public static final Duration CHECKPOINT_INTERVAL = Duration.ofMinutes(10);

    /**
     * How to train.
     *
     * @param warmupFraction share of the updates spent warming up the learning rate
     * @param accumulation micro-batches per update (the effective batch is batchSize × accumulation)
     * @param evalEvery evaluate every this many updates; 0 evaluates at the end of every epoch
     * @param checkpointEvery also checkpoint every this many updates (0: only at evaluations)
     * @param logEvery write the mean loss terms to {@code metrics.jsonl} every this many updates
     * @param cacheTeacher compute the teacher's outputs once per example when the loss needs no
     *     attentions of it, only logits, [CLS] vectors or hidden states ({@link TeacherCache})
     * @param out the run directory (checkpoint/, metrics.jsonl)
     * @param identity what a checkpoint must have been written by to be resumed (a config hash)
     * @param precision fp32, or fp16 mixed precision with fp32 master weights ({@link MixedPrecision})
     * @param teacherCacheDir where cached teacher outputs are also kept on disk, so that a resumed run
     *     or another student of the same teacher and data skips the teacher pass; null keeps them
     *     in memory only
     */
    public record Options(int epochs, int batchSize, float learningRate, float weightDecay, double warmupFraction,
            float maxGradNorm, int accumulation, int evalEvery, int checkpointEvery, int logEvery, long seed,
            boolean cacheTeacher, Path out, String identity, Precision precision, Path teacherCacheDir) {

        /** Log lines every 50 updates unless asked otherwise. */
        public static final int LOG_EVERY = 50;

        public Options {
            if (epochs < 1 || batchSize < 1 || accumulation < 1 || logEvery < 1 || evalEvery < 0
                    || checkpointEvery < 0) {
                throw new IllegalArgumentException("need epochs, batch size, accumulation, log interval >= 1 and "
                        + "evaluation and checkpoint intervals >= 0");
            }
            if (precision == null) {
                throw new IllegalArgumentException("precision is required (fp32 or fp16)");
            }
        }

        /** fp32 training, teacher outputs kept in memory only. */
        public Options(int epochs, int batchSize, float learningRate, float weightDecay, double warmupFraction,
                float maxGradNorm, int accumulation, int evalEvery, int checkpointEvery, int logEvery, long seed,
                boolean cacheTeacher, Path out, String identity) {
            this(epochs, batchSize, learningRate, weightDecay, warmupFraction, maxGradNorm, accumulation, evalEvery,
                    checkpointEvery, logEvery, seed, cacheTeacher, out, identity, Precision.FP32, null);
        }

        public Options withPrecision(Precision p) {
            return new Options(epochs, batchSize, learningRate, weightDecay, warmupFraction, maxGradNorm, accumulation,
                    evalEvery, checkpointEvery, logEvery, seed, cacheTeacher, out, identity, p, teacherCacheDir);
        }

        public Options withTeacherCacheDir(Path dir) {
            return new Options(epochs, batchSize, learningRate, weightDecay, warmupFraction, maxGradNorm, accumulation,
                    evalEvery, checkpointEvery, logEvery, seed, cacheTeacher, out, identity, precision, dir);
        }
    }

    /** Training examples: first texts, second texts (null for single-sentence tasks) and labels. */
    public record Examples(List<String> first, List<String> second, float[] labels) {

        public Examples {
            if (first.size() != labels.length || (second != null && second.size() != labels.length)) {
                throw new IllegalArgumentException("examples and labels differ in number");
            }
        }

        public int size() {
            return labels.length;
        }

        /** Characters, a proxy of token count good enough to bucket batches by length. */
        int length(int i) {
            return first.get(i).length() + (second == null ? 0 : second.get(i).length());
        }

        TokenBatch batch(BertTokenizer tok, int[] idx) {
            List<String> a = new ArrayList<>(idx.length);
            List<String> b = second == null ? null : new ArrayList<>(idx.length);
            for (int i : idx) {
                a.add(first.get(i));
                if (b != null) {
                    b.add(second.get(i));
                }
            }
            return tok.batch(a, b);
        }
    }

    /**
     * An evaluation of the student.
     *
     * @param value the number that picks the best model (higher is better)
     * @param metrics every metric, by name
     * @param summary one line for logs
     */
    public record Score(double value, Map<String, Double> metrics, String summary) {}

    /** Scores the student on held-out data. */
    @FunctionalInterface
    public interface Evaluator {
        Score evaluate(BertModel student);
    }

    /** Receives the student whenever it scores best so far (to write the model directory). */
    @FunctionalInterface
    public interface BestModelSink {
        void save(BertModel student, Evaluation evaluation);
    }

    /** One evaluation during the run; {@code epoch} counts completed epochs, fractional between them. */
    public record Evaluation(int step, double epoch, Score score) {}

    /**
     * The outcome of a run. {@code seconds} is the run's wall-clock time from the start of training
     * (teacher pass and evaluations included), summed over the processes of a resumed run; work
     * done after a crash's last checkpoint, and then redone, counts once.
     */
    public record Result(Evaluation best, List<Evaluation> evaluations, int steps, int skippedSteps, double seconds,
            double examplesPerSecond) {}

    private final Options opt;
    private final BertModel student;
    private final BertModel teacher;
    private final BertTokenizer tokenizer;
    private final List<LossTerm> terms;
    private final boolean regression;
    private final Examples data;
    private final Evaluator evaluator;
    private final BestModelSink bestSink;
    private final boolean teacherStates;
    private final boolean teacherCls;
    private final boolean teacherLogits;
    private final Set<Integer> teacherHidden;
    private final Map<String, Parameter> trainable = new LinkedHashMap<>();
    private TeacherCache cache;
    private MixedPrecision mixed;
    private int abortAfterStep;
    private Duration checkpointInterval = CHECKPOINT_INTERVAL;

    /**
     * @param teacher the frozen teacher, or null when no term needs one
     * @param regression whether the task head is a regression (one output)
     */
    public Trainer(Options options, BertModel student, BertModel teacher, BertTokenizer tokenizer,
            List<LossTerm> terms, boolean regression, Examples data, Evaluator evaluator, BestModelSink bestSink) {
        if (terms.isEmpty()) {
            throw new DistillException("a training plan needs at least one loss term");
        }
        this.opt = options;
        this.student = student;
        this.teacher = teacher;
        this.tokenizer = tokenizer;
        this.terms = List.copyOf(terms);
        this.regression = regression;
        this.data = data;
        this.evaluator = evaluator;
        this.bestSink = bestSink;
        teacherStates = this.terms.stream().anyMatch(t -> t.teacherNeed() == LossTerm.TeacherNeed.STATES);
        teacherCls = this.terms.stream().anyMatch(t -> t.teacherNeed() == LossTerm.TeacherNeed.CLS);
        teacherLogits = this.terms.stream().anyMatch(t -> t.teacherNeed() == LossTerm.TeacherNeed.LOGITS);
        Set<Integer> hidden = new TreeSet<>();
        this.terms.stream().filter(t -> t.teacherNeed() == LossTerm.TeacherNeed.HIDDEN)
                .forEach(t -> hidden.addAll(t.teacherLayers()));
        teacherHidden = Collections.unmodifiableSet(hidden);
        if (needsTeacher() && teacher == null) {
            throw new DistillException("loss terms " + names() + " need a teacher, but none was given");
        }
        if (teacherLogits && teacher.heads().taskOutputs() != student.heads().taskOutputs()) {
            throw new DistillException("the soft-target term needs a teacher fine-tuned for this task: the teacher has "
                    + teacher.heads().taskOutputs() + " task outputs, the student " + student.heads().taskOutputs());
        }
        if (teacher != null) {
            freeze(teacher);
        }
        trainable.putAll(student.namedParameters());
        for (LossTerm t : this.terms) {
            t.parameters().forEach((name, p) -> {
                if (trainable.putIfAbsent(name, p) != null) {
                    throw new DistillException("two loss terms define parameter " + name + "; give them distinct names");
                }
            });
        }
    }

    /** The teacher takes no gradient: autograd records nothing of its forward passes. */
    private static void freeze(BertModel model) {
        for (Parameter p : model.namedParameters().values()) {
            p.getArray().setRequiresGradient(false);
        }
    }

    /**
     * Checkpoints also whenever this much wall-clock time has passed since the last checkpoint,
     * whatever {@link Options#checkpointEvery}: on a CPU one step interval can be seconds for a small
     * student and an hour for BERT-base, and a crash (or a session's end) should never cost more
     * than this. Default {@link #CHECKPOINT_INTERVAL}; checkpoints do not change the result.
     */
    public Trainer checkpointAtLeastEvery(Duration interval) {
        if (interval.isNegative()) {
            throw new IllegalArgumentException("checkpoint interval must be >= 0, not " + interval);
        }
        this.checkpointInterval = interval;
        return this;
    }

    /** Makes the run stop abruptly after this many updates, without saving (tests of resume). */
    public Trainer abortAfterStep(int step) {
        this.abortAfterStep = step;
        return this;
    }

    /** Thrown by a run stopped with {@link #abortAfterStep}, as a crash would stop it. */
    public static final class Aborted extends RuntimeException {
        Aborted(int step) {
            super("run aborted after step " + step);
        }
    }

    /** Everything trained: the student's parameters and those the loss terms learn. */
    public Map<String, Parameter> trainableParameters() {
        return java.util.Collections.unmodifiableMap(trainable);
    }

    /**
     * Whether the run in {@code out} got to its end (its last checkpoint says so): a caller may then
     * use its results without running it again. Checkpoints of builds that did not record it count
     * as finished.
     */
    public static boolean finished(Path out) {
        Path state = out.resolve("checkpoint").resolve("state.json");
        try {
            return Files.isRegularFile(state) && JSON.readTree(state.toFile()).path("finished").asBoolean(true);
        } catch (IOException e) {
            return false;
        }
    }

    /** Trains; with {@code resume}, continues from {@code out/checkpoint} if there is one. */
    public Result run(boolean resume) {
        int[] lengths = lengths();
        LengthBucketSampler sampler = new LengthBucketSampler(lengths, opt.batchSize(), opt.seed());
        int perEpoch = sampler.batchesPerEpoch();
        int totalMicro = perEpoch * opt.epochs();
        int totalSteps = (totalMicro + opt.accumulation() - 1) / opt.accumulation();
        LinearSchedule schedule = LinearSchedule.withWarmupFraction(opt.learningRate(), opt.warmupFraction(),
                totalSteps);
        Path ckpt = opt.out().resolve("checkpoint");
        long started = System.nanoTime();
        try (NDManager root = student.manager().newSubManager();
                AdamW adam = new AdamW(trainable, opt.weightDecay(), root);
                Prefetcher prefetch = new Prefetcher(sampler, totalMicro)) {
            mixed = opt.precision() == Precision.FP32 ? null
                    : new MixedPrecision(opt.precision(), trainable,
                            teacher == null ? List.of(student) : List.of(student, teacher), root);
            State st = new State();
            if (resume && Files.isDirectory(ckpt)) {
                st = restore(ckpt, adam);
                if (!st.wallKnown) {
                    System.err.printf("note: %s predates wall_seconds; the run's time counts only the %.0f s of "
                            + "updates before the resume, not its teacher pass or evaluations%n", ckpt, st.trainSeconds);
                }
                System.err.printf("resumed from %s at step %d of %d%n", ckpt, st.step, totalSteps);
            } else {
                startFresh();
            }
            st.since = started; // this process's part counts from the start of run(), the restore included
            if (mixed != null) {
                mixed.refresh();
            }
            int startMicro = st.micro;
            ParameterStore ps = mixed != null ? mixed.store() : new ParameterStore(root, false);
            cache = st.micro < totalMicro ? cacheTeacher(ps, lengths) : null;
            int skippedInARow = 0;
            Window window = new Window();
            long lastSave = System.nanoTime();
            try (ProgressBar bar = ConsoleProgress.start("train", totalSteps, st.step, " steps")) {
                while (st.micro < totalMicro) {
                    int first = st.micro;
                    int end = Math.min(totalMicro, (first / opt.accumulation() + 1) * opt.accumulation());
                    float lr = schedule.at(st.step);
                    Map<String, Float> values = new LinkedHashMap<>();
                    long t0 = System.nanoTime();
                    boolean finite = accumulate(ps, prefetch, prefetch::take, first, end, values);
                    st.micro = end;
                    int examples = prefetch.examples(first, end);
                    float norm = finite ? update(adam, lr) : Float.NaN;
                    String recomputed = null;
                    if (finite && !Float.isFinite(norm) && mixed == null) {
                        // fp32 gradients non-finite from a finite loss. Replays of such updates (same
                        // state, batch and dropout, bit-identical loss) came out finite: a backward
                        // that is not repeatable, not a bad batch. So compute the update once more
                        // before giving it up; only a repeat is skipped.
                        recomputed = "non-finite gradients in " + listed(adam.nonFiniteParameters(), trainable.size());
                        values.clear();
                        finite = accumulate(ps, prefetch, prefetch::again, first, end, values);
                        norm = finite ? update(adam, lr) : Float.NaN;
                    }
                    st.trainSeconds += (System.nanoTime() - t0) / 1e9;
                    st.trainedExamples += examples;
                    if (finite && !Float.isFinite(norm) && mixed != null) {
                        // An fp16 overflow: expected now and then; the loss scale comes down and the
                        // update is redone with the next batch. Only a vanishing scale means divergence.
                        float was = mixed.scaler().scale();
                        st.skipped++;
                        appendMetrics(Map.of("step", st.step + 1, "skipped", "fp16 overflow at loss scale " + was));
                        if (!mixed.scaler().overflowed()) {
                            throw new DistillException("gradients stay non-finite at loss scale " + was + " ("
                                    + adam.nonFiniteParameters() + "): the run diverged; lower the learning rate (now "
                                    + opt.learningRate() + ") or train in fp32");
                        }
                    } else if (!finite || !Float.isFinite(norm)) {
                        String why;
                        if (finite) {
                            why = "non-finite gradients in " + listed(adam.nonFiniteParameters(), trainable.size())
                                    + (recomputed != null ? " (computed twice)" : "");
                        } else {
                            adam.zeroGradients(); // earlier micro-batches of this update may have left some
                            if (mixed != null) {
                                mixed.zeroGradients();
                            }
                            why = "non-finite loss " + values;
                        }
                        if (mixed == null) {
                            dumpSkipped(adam, st, first, end, prefetch, lr, values, why,
                                    finite ? adam.nonFiniteParameters() : List.of());
                        }
                        st.skipped++;
                        skippedInARow++;
                        System.err.printf("%nwarning: step %d skipped: %s%n", st.step + 1, why);
                        appendMetrics(Map.of("step", st.step + 1, "skipped", why));
                        if (skippedInARow >= MAX_SKIPPED_IN_A_ROW) {
                            throw new DistillException(skippedInARow + " updates in a row had non-finite values (last: "
                                    + why + "); the run diverged: lower the learning rate (now "
                                    + opt.learningRate() + ")");
                        }
                    } else {
                        skippedInARow = 0;
                        window.add(values, examples, norm);
                        if (recomputed != null) {
                            System.err.printf("%nnote: step %d had %s; computed again, it came out finite%n",
                                    st.step + 1, recomputed);
                            appendMetrics(Map.of("step", st.step + 1, "recomputed", recomputed));
                        }
                    }
                    st.step++;
                    bar.step();
                    bar.setExtraMessage(window.message());
                    if (st.step % opt.logEvery() == 0 || st.micro == totalMicro) {
                        appendMetrics(window.line(st.step, (double) st.micro / perEpoch, schedule.at(st.step - 1)));
                        window = new Window();
                    }
                    if (st.step == abortAfterStep) {
                        throw new Aborted(st.step);
                    }
                    boolean epochEnd = st.micro / perEpoch > first / perEpoch; // this update finished an epoch
                    boolean evaluate = st.micro == totalMicro
                            || (opt.evalEvery() > 0 ? st.step % opt.evalEvery() == 0 : epochEnd);
                    if (evaluate) {
                        prefetch.settle(); // the tokenizer is the evaluator's now
                        evaluate(st, (double) st.micro / perEpoch);
                    }
                    if (st.micro < totalMicro && (evaluate
                            || (opt.checkpointEvery() > 0 && st.step % opt.checkpointEvery() == 0)
                            || System.nanoTime() - lastSave >= checkpointInterval.toNanos())) {
                        save(ckpt, adam, st, false);
                        lastSave = System.nanoTime();
                    }
                }
            }
            if (st.micro > startMicro || !resume) {
                save(ckpt, adam, st, true); // a resumed run that was already finished has nothing new to save
            }
            return new Result(st.best, List.copyOf(st.evaluations), st.step, st.skipped, st.wallSeconds(),
                    st.trainedExamples / Math.max(1e-9, st.trainSeconds));
        }
    }

    /**
     * Keeps what it takes to replay an fp32 update skipped on a non-finite loss or gradients
     * ({@link #replay}): a checkpoint as it stood before the update (the skip changed nothing) and
     * {@code skip.json} with the update's micro-batches, their examples, the learning rate and the
     * loss values seen. Such updates come rarely and at different steps in repeated runs; a replay
     * tells a batch that always yields them from a computation that is not repeatable. At most
     * {@link #MAX_SKIP_DUMPS} per run, as each holds the student and its optimizer moments.
     */
    private void dumpSkipped(AdamW adam, State st, int first, int end, Prefetcher prefetch, float lr,
            Map<String, Float> values, String why, List<String> nonFinite) {
        Path root = opt.out().resolve("skipped");
        Path dir = root.resolve("step-" + (st.step + 1));
        try {
            if (Files.isDirectory(root)) {
                try (var kept = Files.list(root)) {
                    if (kept.filter(d -> !d.equals(dir) && !d.getFileName().toString().endsWith(".tmp")).count()
                            >= MAX_SKIP_DUMPS) {
                        return;
                    }
                }
            }
            State before = new State();
            before.micro = first;
            before.step = st.step;
            before.skipped = st.skipped;
            before.best = st.best;
            before.evaluations.addAll(st.evaluations);
            before.trainedExamples = st.trainedExamples;
            before.trainSeconds = st.trainSeconds;
            before.wallBefore = st.wallBefore;
            before.since = st.since;
            save(dir, adam, before, false);
            ObjectNode n = JSON.createObjectNode();
            n.put("step", st.step + 1);
            n.put("first_micro_batch", first);
            n.put("end_micro_batch", end);
            n.put("lr", lr);
            n.put("why", why);
            n.putPOJO("non_finite_gradients", nonFinite);
            n.putPOJO("values", values);
            ObjectNode bits = n.putObject("value_bits"); // exact, for a replay to compare bit for bit
            values.forEach((k, v) -> bits.put(k, Float.floatToRawIntBits(v)));
            List<int[]> examples = new ArrayList<>();
            for (int micro = first; micro < end; micro++) {
                examples.add(prefetch.indices(micro));
            }
            n.putPOJO("examples", examples);
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("skip.json").toFile(), n);
            System.err.printf("%nthe skipped update is kept for replay in %s%n", dir);
        } catch (IOException | DistillException e) {
            // Diagnostics only: a full disk must not end a run that can go on.
            System.err.printf("%nwarning: could not keep the skipped update in %s: %s%n", dir, e.getMessage());
        }
    }

    /** A list of parameters for a log line: all of a few, the first three of many. */
    static String listed(List<String> names, int of) {
        return names.size() <= 4 ? names.toString()
                : names.size() + " of " + of + " parameters " + names.subList(0, 3) + " and " + (names.size() - 3)
                        + " more";
    }

    /** Skipped updates kept for replay per run. */
    static final int MAX_SKIP_DUMPS = 3;

    /**
     * What replaying a kept update gave ({@link #replay}).
     *
     * @param step the update replayed
     * @param values the loss terms now
     * @param recorded the loss terms as the run saw them
     * @param nonFinite parameters whose gradients are not finite now (empty: the update is clean)
     * @param gradNorm the global gradient norm now (not finite when {@code nonFinite} is not empty)
     * @param parameters how many parameters are trained
     */
    public record Replay(int step, Map<String, Float> values, Map<String, Float> recorded, List<String> nonFinite,
            float gradNorm, int parameters) {

        /** Whether the loss terms came out bit for bit as in the run. */
        public boolean sameLoss() {
            return values.equals(recorded);
        }

        /** One paragraph for a person. */
        public String summary() {
            return String.format("step %d: loss terms %s (the run saw %s: %s); gradients %s", step, values, recorded,
                    sameLoss() ? "bit-identical" : "different", nonFinite.isEmpty()
                            ? String.format("all finite (norm %.4g): the skip did not repeat", gradNorm)
                            : "not finite in " + listed(nonFinite, parameters) + ": the skip repeats");
        }
    }

    /**
     * Recomputes an update that {@code dumpSkipped} kept in {@code dir} ({@code runs/NAME/skipped/step-N})
     * from its checkpoint and examples, and reports whether its gradients are again non-finite.
     * Applies nothing: the student ends as the checkpoint left it. The trainer must be built as for
     * the run (same recipe): the checkpoint's identity is checked.
     */
    public Replay replay(Path dir) {
        if (opt.precision() != Precision.FP32) {
            throw new DistillException("replay is for fp32 runs, as only they keep skipped updates (in fp16 a skip is "
                    + "a loss-scale overflow, expected now and then); build the trainer with precision fp32");
        }
        JsonNode skip;
        try {
            skip = JSON.readTree(dir.resolve("skip.json").toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read " + dir.resolve("skip.json") + " (a kept skipped update has one): "
                    + e.getMessage(), e);
        }
        int[] lengths = lengths();
        LengthBucketSampler sampler = new LengthBucketSampler(lengths, opt.batchSize(), opt.seed());
        int first = skip.path("first_micro_batch").asInt();
        int end = skip.path("end_micro_batch").asInt();
        Map<String, Float> recorded = new LinkedHashMap<>();
        skip.path("value_bits").fields()
                .forEachRemaining(e -> recorded.put(e.getKey(), Float.intBitsToFloat(e.getValue().asInt())));
        try (NDManager root = student.manager().newSubManager();
                AdamW adam = new AdamW(trainable, opt.weightDecay(), root);
                Prefetcher prefetch = new Prefetcher(sampler, end)) {
            mixed = null;
            State st = restore(dir, adam);
            if (st.micro != first) {
                throw new DistillException(dir + ": its checkpoint stands at micro-batch " + st.micro + " but skip.json "
                        + "says the update began at " + first);
            }
            ParameterStore ps = new ParameterStore(root, false);
            cache = cacheTeacher(ps, lengths);
            for (int micro = first; micro < end; micro++) {
                int[] kept = JSON.convertValue(skip.path("examples").path(micro - first), int[].class);
                if (!java.util.Arrays.equals(prefetch.indices(micro), kept)) {
                    throw new DistillException(dir + ": micro-batch " + micro + " holds other examples than when it "
                            + "was kept: the data, batch size or seed differ from the run's");
                }
            }
            Map<String, Float> values = new LinkedHashMap<>();
            boolean finite = accumulate(ps, prefetch, prefetch::take, first, end, values);
            float norm = finite ? adam.gradientNorm() : Float.NaN;
            adam.zeroGradients();
            List<String> nonFinite = finite ? adam.nonFiniteParameters() : List.of("the loss itself");
            return new Replay(skip.path("step").asInt(), values, recorded, nonFinite, norm, trainable.size());
        }
    }

    /** Each example's length proxy, which orders batches (and the teacher cache's passes). */
    private int[] lengths() {
        int[] lengths = new int[data.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = data.length(i);
        }
        return lengths;
    }

    /** Applies the accumulated gradients: straight from the parameters, or unscaled from fp16 working copies. */
    private float update(AdamW adam, float lr) {
        if (mixed == null) {
            return adam.step(lr, opt.maxGradNorm());
        }
        float norm;
        try (NDManager tmp = student.manager().newSubManager()) {
            norm = adam.step(lr, opt.maxGradNorm(), mixed.gradients(tmp));
        }
        mixed.zeroGradients();
        if (Float.isFinite(norm)) {
            mixed.refresh();
            mixed.scaler().updated();
        }
        return norm;
    }

    /**
     * Forward and backward of the micro-batches {@code [first, end)} of one update: the update itself,
     * its recomputation and its replay all go through here, so they compute the same thing.
     *
     * @param batches the tokens of a micro-batch: {@link Prefetcher#take} or {@link Prefetcher#again}
     * @return whether every loss was finite (all micro-batches are computed either way)
     */
    private boolean accumulate(ParameterStore ps, Prefetcher prefetch, IntFunction<TokenBatch> batches, int first,
            int end, Map<String, Float> values) {
        boolean finite = true;
        for (int micro = first; micro < end; micro++) {
            finite &= microStep(ps, prefetch.indices(micro), batches.apply(micro), end - first, micro, values);
        }
        return finite;
    }

    /**
     * Forward and backward of one micro-batch, gradients accumulating into the parameters.
     *
     * @param share micro-batches in this update: each backward is scaled by 1/share
     * @return whether the loss was finite (if not, nothing was back-propagated)
     */
    private boolean microStep(ParameterStore ps, int[] idx, TokenBatch batch, int share, int micro,
            Map<String, Float> values) {
        try (NDManager s = student.manager().newSubManager()) {
            // Dropout and masking depend only on (seed, micro-batch): a resumed run draws the same.
            Engine.getInstance().setRandomSeed((int) (opt.seed() * 1_000_003L + micro));
            Random random = new Random(opt.seed() * 7_919L + micro);
            EncoderInput in = batch.toInput(s);
            float[] gold = new float[idx.length];
            for (int i = 0; i < idx.length; i++) {
                gold[i] = data.labels()[idx[i]];
            }
            NDArray labels = s.create(gold);
            EncoderOutput tOut = null;
            NDArray tLogits = null;
            List<NDArray> tCls = null;
            Map<Integer, NDArray> tHidden = null;
            if (cache != null) {
                tLogits = teacherLogits ? cache.logits(s, idx) : null;
                tCls = teacherCls ? cache.cls(s, idx) : null;
                tHidden = teacherHidden.isEmpty() ? null : cache.hidden(s, idx, batch.sequenceLength());
            } else if (needsTeacher()) {
                tOut = teacher.encode(ps, in, false);
                tLogits = teacherLogits ? teacher.classify(ps, tOut, false) : null;
            }
            boolean finite;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                EncoderOutput sOut = student.encode(ps, in, true);
                NDArray sLogits = student.heads().taskOutputs() > 0 ? student.classify(ps, sOut, true) : null;
                StepContext ctx = new StepContext(ps, s, student, teacher, in, sOut, sLogits, tOut, tCls, tHidden,
                        tLogits, labels, regression, random);
                NDArray total = null;
                for (LossTerm term : terms) {
                    NDArray v = term.compute(ctx);
                    values.merge(term.name(), v.getFloat() / share, Float::sum);
                    NDArray weighted = v.mul(term.weight());
                    total = total == null ? weighted : total.add(weighted);
                }
                float loss = total.getFloat();
                values.merge("loss", loss / share, Float::sum);
                finite = Float.isFinite(loss);
                if (finite) {
                    float scale = (mixed == null ? 1f : mixed.scaler().scale()) / share;
                    gc.backward(scale == 1f ? total : total.mul(scale));
                }
            }
            return finite;
        }
    }

    private boolean needsTeacher() {
        return teacherStates || teacherCls || teacherLogits || !teacherHidden.isEmpty();
    }

    /**
     * The teacher's outputs for every example, when no term needs its attentions, the options allow
     * it, and what is kept fits in a quarter of the heap; otherwise null (the teacher then runs with
     * every batch).
     */
    private TeacherCache cacheTeacher(ParameterStore ps, int[] lengths) {
        if (!opt.cacheTeacher() || teacherStates || !needsTeacher()) {
            return null;
        }
        return TeacherCache.build(teacher, ps, tokenizer, data, lengths, teacherLogits, teacherCls, teacherHidden,
                Runtime.getRuntime().maxMemory() / 4, opt.teacherCacheDir(), opt.precision(), student.manager());
    }

    private void evaluate(State st, double epoch) {
        long t0 = System.nanoTime();
        Score score = evaluator.evaluate(student);
        Evaluation e = new Evaluation(st.step, epoch, score);
        st.evaluations.add(e);
        System.err.printf("%nstep %d (epoch %.2f): %s  [%.0f s]%n", st.step, epoch, score.summary(),
                (System.nanoTime() - t0) / 1e9);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", st.step);
        line.put("epoch", epoch);
        line.put("eval", true);
        line.putAll(score.metrics());
        line.put("score", score.value());
        appendMetrics(line);
        if (st.best == null || score.value() > st.best.score().value()) {
            st.best = e;
            bestSink.save(student, e);
        }
    }

    /**
     * Tokenizes the next micro-batch on a background thread while the current one computes, so the
     * device does not wait for the tokenizer. Batch order is fixed by (seed, epoch), so "next" is known.
     */
    private final class Prefetcher implements AutoCloseable {
        private final LengthBucketSampler sampler;
        private final int perEpoch;
        private final int totalMicro;
        private final Map<Integer, List<int[]>> epochs = new HashMap<>();
        private final ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "distill4j-tokenize");
            t.setDaemon(true);
            return t;
        });
        private int pendingMicro = -1;
        private Future<TokenBatch> pending;

        Prefetcher(LengthBucketSampler sampler, int totalMicro) {
            this.sampler = sampler;
            this.perEpoch = sampler.batchesPerEpoch();
            this.totalMicro = totalMicro;
        }

        /** The example indices of micro-batch {@code micro} (counted over all epochs). */
        int[] indices(int micro) {
            int epoch = micro / perEpoch;
            List<int[]> b = epochs.get(epoch);
            if (b == null) {
                epochs.keySet().removeIf(e -> e < epoch - 1);
                b = sampler.epoch(epoch);
                epochs.put(epoch, b);
            }
            return b.get(micro % perEpoch);
        }

        /** The tokens of micro-batch {@code micro}; starts tokenizing the one after. */
        TokenBatch take(int micro) {
            TokenBatch batch = null;
            if (pending != null) {
                TokenBatch ready = await();
                batch = pendingMicro == micro ? ready : null;
                pending = null;
            }
            if (batch == null) {
                batch = data.batch(tokenizer, indices(micro));
            }
            if (micro + 1 < totalMicro) {
                int[] next = indices(micro + 1);
                pendingMicro = micro + 1;
                pending = pool.submit(() -> data.batch(tokenizer, next));
            }
            return batch;
        }

        /**
         * The tokens of micro-batch {@code micro} tokenized again, for an update computed a second
         * time; the batch in flight is left for {@link #take}.
         */
        TokenBatch again(int micro) {
            settle(); // the tokenizer is not shared with the background thread
            return data.batch(tokenizer, indices(micro));
        }

        /** How many examples micro-batches {@code [first, end)} hold. */
        int examples(int first, int end) {
            int n = 0;
            for (int micro = first; micro < end; micro++) {
                n += indices(micro).length;
            }
            return n;
        }

        /** Waits for the batch in flight, if any (keeping it for {@link #take}). */
        void settle() {
            if (pending != null) {
                await();
            }
        }

        private TokenBatch await() {
            try {
                return pending.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DistillException("interrupted while tokenizing a batch", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r
                        : new DistillException("tokenizing a batch failed: " + e.getCause(), e.getCause());
            }
        }

        @Override
        public void close() {
            pool.shutdownNow();
            // A run that ends by an exception can leave a batch in flight; the caller closes the
            // tokenizer next, and a native tokenizer freed under a running encode is undefined
            // behaviour, so wait for it (one batch: milliseconds).
            try {
                if (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    System.err.println("warning: the background tokenizer did not stop within a minute");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Where a run stands; saved in checkpoints. */
    private final class State {
        int micro;
        int step;
        int skipped;
        Evaluation best;
        final List<Evaluation> evaluations = new ArrayList<>();
        double trainedExamples;
        double trainSeconds;
        /** Wall-clock seconds of the earlier processes of a resumed run, up to its checkpoint. */
        double wallBefore;
        /** Whether the checkpoint recorded {@link #wallBefore} (builds before 2026-12-02 did not). */
        boolean wallKnown = true;
        /** When this process's part of the run began ({@link System#nanoTime}). */
        long since = System.nanoTime();

        double wallSeconds() {
            return wallBefore + (System.nanoTime() - since) / 1e9;
        }
    }

    /** Loss values and throughput over the updates since the last log line. */
    private final class Window {
        final Map<String, Double> sums = new LinkedHashMap<>();
        int updates;
        long examples;
        final long start = System.nanoTime();
        double normSum;

        void add(Map<String, Float> values, int n, float norm) {
            values.forEach((k, v) -> sums.merge(k, (double) v, Double::sum));
            updates++;
            examples += n;
            normSum += norm;
        }

        double rate() {
            return examples / Math.max(1e-9, (System.nanoTime() - start) / 1e9);
        }

        String message() {
            if (updates == 0) {
                return "";
            }
            StringBuilder b = new StringBuilder();
            sums.forEach((k, v) -> b.append(String.format(" %s %.4f", k, v / updates)));
            return b.append(String.format("  %.1f ex/s", rate())).toString();
        }

        Map<String, Object> line(int step, double epoch, float lr) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", step);
            m.put("epoch", epoch);
            m.put("lr", lr);
            sums.forEach((k, v) -> m.put(k, v / Math.max(1, updates)));
            m.put("grad_norm", normSum / Math.max(1, updates));
            m.put("examples_per_second", rate());
            return m;
        }
    }

    private void startFresh() {
        try {
            Files.createDirectories(opt.out());
            Files.deleteIfExists(opt.out().resolve("metrics.jsonl"));
            Files.deleteIfExists(opt.out().resolve("checkpoint").resolve("state.json"));
        } catch (IOException e) {
            throw new DistillException("Cannot write to " + opt.out() + ": " + e.getMessage(), e);
        }
    }

    private String names() {
        return terms.stream().map(LossTerm::name).toList().toString();
    }

    /** Writes the checkpoint beside the old one and swaps it in; {@code finished} marks the end of the run. */
    private void save(Path dir, AdamW adam, State st, boolean finished) {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
        AtomicDirectory.delete(tmp);
        try {
            Files.createDirectories(tmp);
            StateDict weights = new StateDict("checkpoint");
            trainable.forEach((name, p) -> weights.put(name, tensor(p.getArray())));
            Safetensors.write(weights, tmp.resolve("model.safetensors"), Map.of());
            adam.save(tmp.resolve("optimizer.safetensors"));
            ObjectNode n = JSON.createObjectNode();
            n.put("identity", opt.identity());
            n.put("finished", finished);
            n.put("micro", st.micro);
            n.put("step", st.step);
            n.put("skipped", st.skipped);
            n.putPOJO("best", st.best);
            n.putPOJO("evaluations", st.evaluations);
            n.put("trained_examples", st.trainedExamples);
            n.put("train_seconds", st.trainSeconds);
            n.put("wall_seconds", st.wallSeconds());
            if (mixed != null) {
                n.put("loss_scale", mixed.scaler().scale());
                n.put("loss_scale_clean_updates", mixed.scaler().cleanUpdates());
            }
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("state.json").toFile(), n);
        } catch (IOException e) {
            throw new DistillException("Cannot write checkpoint " + tmp + ": " + e.getMessage(), e);
        }
        AtomicDirectory.replace(tmp, dir);
    }

    private State restore(Path dir, AdamW adam) {
        try {
            JsonNode n = JSON.readTree(dir.resolve("state.json").toFile());
            if (!n.path("identity").asText().equals(opt.identity())) {
                throw new DistillException("checkpoint " + dir + " was written by a different configuration ("
                        + n.path("identity").asText() + ", not " + opt.identity()
                        + "); use another output directory or start without --resume");
            }
            StateDict w = Safetensors.read(dir.resolve("model.safetensors"));
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                Tensor t = w.get(e.getKey());
                if (t == null) {
                    throw new DistillException(dir + "/model.safetensors has no tensor '" + e.getKey() + "'");
                }
                StateDict.assign(e.getValue().getArray(), t);
            }
            State st = new State();
            st.micro = n.path("micro").asInt();
            st.step = n.path("step").asInt();
            st.skipped = n.path("skipped").asInt();
            for (JsonNode e : n.path("evaluations")) {
                st.evaluations.add(JSON.treeToValue(e, Evaluation.class));
            }
            JsonNode best = n.path("best");
            st.best = best.isMissingNode() || best.isNull() ? null : JSON.treeToValue(best, Evaluation.class);
            st.trainedExamples = n.path("trained_examples").asDouble();
            st.trainSeconds = n.path("train_seconds").asDouble();
            // Older builds kept only the time of the updates: the run's time then leaves out the
            // earlier processes' teacher pass and evaluations (run() says so).
            st.wallKnown = n.has("wall_seconds");
            st.wallBefore = st.wallKnown ? n.path("wall_seconds").asDouble() : st.trainSeconds;
            if (mixed != null && n.has("loss_scale")) {
                mixed.scaler().restore((float) n.path("loss_scale").asDouble(),
                        n.path("loss_scale_clean_updates").asInt());
            }
            adam.load(dir.resolve("optimizer.safetensors"), st.step - st.skipped);
            return st;
        } catch (IOException e) {
            throw new DistillException("Cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    private static Tensor tensor(NDArray a) {
        return new Tensor(a.getShape().getShape(), a.toFloatArray());
    }

    private void appendMetrics(Map<String, ?> line) {
        Path f = opt.out().resolve("metrics.jsonl");
        try {
            Files.writeString(f, JSON.writeValueAsString(line) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new DistillException("Cannot append to " + f + ": " + e.getMessage(), e);
        }
    }
}
