package org.distill4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.StopSignal;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;

/**
 * The one training loop every recipe runs: a student, an optional frozen teacher, and a plan of
 * {@link Stage}s, each with its weighted loss terms, step objective, trainable parameters, data and
 * model selection. Per stage: AdamW with linear warm-up and decay, global-norm clipping, gradient
 * accumulation, length-bucketed batches with dynamic padding, evaluation, and atomic checkpoints;
 * the console, {@code metrics.jsonl} and the best model are {@link TrainingListener}s.
 *
 * <p>Exact resume: the batch order depends only on (seed, epoch), and every micro-batch reseeds
 * dropout and the step's random source from (seed, micro-batch index over the run). A checkpoint
 * holds every parameter, the optimizer's moments and the position (stage, micro-batch), so a
 * resumed run makes the same updates as one that never stopped. Teacher outputs cached before a
 * stage are read back from their file ({@link TeacherCache}), so a resumed run sees the very
 * outputs the first one did.
 *
 * <p>Memory: each micro-batch opens its own NDManager; everything but parameters and optimizer
 * state is freed when it closes.
 */
public final class Trainer {

    /** Consecutive skipped updates that end a run: one bad batch is noise, five is divergence. */
    static final int MAX_SKIPPED_IN_A_ROW = 5;

    /**
     * An evaluation of the student.
     *
     * @param value the number that picks the best model (higher is better)
     */
    public record Score(double value, Map<String, Double> metrics, String summary) {}

    /** Scores the student on held-out data. */
    @FunctionalInterface
    public interface Evaluator {
        Score evaluate(BertModel student);
    }

    /** Receives the student whenever the last stage's chosen model changes (to write the model directory). */
    @FunctionalInterface
    public interface BestModelSink {
        void save(BertModel student, Evaluation evaluation);
    }

    /** One evaluation; {@code step} and {@code epoch} count within stage {@code stage} (0-based). */
    public record Evaluation(int step, double epoch, Score score, int stage) {}

    /**
     * The outcome of a run: the last stage's chosen model, every evaluation, updates over all stages.
     * {@code seconds} is wall-clock time from the start of training (teacher passes and evaluations
     * included), summed over the processes of a resumed run.
     */
    public record Result(Evaluation best, List<Evaluation> evaluations, int steps, int skippedSteps, double seconds,
            double examplesPerSecond) {}

    /** Thrown by a run stopped with {@link #abortAfterStep}, as a crash would stop it. */
    public static final class Aborted extends RuntimeException {
        Aborted(int step) {
            super("run aborted after step " + step);
        }
    }

    private final TrainingPlan plan;
    private final TrainerOptions opt;
    private final BertModel student;
    private final List<Stage> stages;
    private final Evaluator evaluator;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private final CheckpointStore store;
    private int abortAfterStep;

    /** A plan of stages, run in order. */
    public Trainer(TrainerOptions options, BertModel student, BertModel teacher, BertTokenizer tokenizer,
            List<Stage> stages, boolean regression, TrainingData data, Evaluator evaluator, BestModelSink bestSink) {
        this.plan = TrainingPlan.of(options, student, teacher, tokenizer, stages, regression, data);
        this.opt = options;
        this.student = student;
        this.stages = plan.stages();
        this.evaluator = evaluator;
        this.store = new CheckpointStore(options.identity());
        listeners.add(new MetricsLog(options.out(), options.logEvery()));
        listeners.add(new ConsoleListener(options.logEvery()));
        listeners.add(new BestModelKeeper(student, bestSink));
    }

    /** One stage that trains every parameter on {@code data} and keeps the best model on dev. */
    public Trainer(TrainerOptions options, BertModel student, BertModel teacher, BertTokenizer tokenizer,
            List<WeightedTerm> terms, boolean regression, TrainingData data, Evaluator evaluator, BestModelSink bestSink,
            String stageName) {
        this(options, student, teacher, tokenizer, List.of(Stage.of(stageName, terms).build()), regression, data,
                evaluator, bestSink);
    }

    /** Adds a listener; it hears everything after the built-in ones (metrics file, console, best model). */
    public Trainer listen(TrainingListener listener) {
        listeners.add(listener);
        return this;
    }

    /** Makes the run stop abruptly after this many updates over all stages, without saving (tests of resume). */
    public Trainer abortAfterStep(int step) {
        this.abortAfterStep = step;
        return this;
    }

    /**
     * Every parameter the run can train: the student's and those its loss terms learn. Which of them
     * train in a stage is the stage's {@link Stage#trainable()}.
     */
    public Map<String, Parameter> parameters() {
        return plan.parameters();
    }

    /** Whether the run in {@code out} got to its end: a caller may then use its results without running it again. */
    public static boolean finished(Path out) {
        AtomicDirectory.recoverAll(out);
        return CheckpointStore.finished(out);
    }

    /**
     * The outcome of the finished run in {@code out} as its last checkpoint keeps it, without running
     * anything: what {@link #run} returned at its end.
     *
     * @param steps updates over all stages, which the checkpoint does not hold (it counts the last stage's)
     * @throws DistillException when the run did not finish
     */
    public static Result finishedResult(Path out, int steps) {
        if (!finished(out)) {
            throw new DistillException(out + " holds no finished run (its checkpoint/state.json is missing or "
                    + "not marked finished): run it with --resume to finish it");
        }
        Path state = out.resolve("checkpoint").resolve("state.json");
        try {
            RunState st = RunState.read(Json.MAPPER.readTree(state.toFile()));
            return new Result(st.best, List.copyOf(st.evaluations), steps, st.skipped, st.wallBefore,
                    st.trainedExamples / Math.max(1e-9, st.trainSeconds));
        } catch (IOException e) {
            throw new DistillException("Cannot read checkpoint " + state + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether {@code out} holds a checkpoint to resume from, after putting back any directory of
     * the run that a crash left half-swapped ({@link AtomicDirectory#recover}).
     */
    public static boolean hasCheckpoint(Path out) {
        AtomicDirectory.recoverAll(out);
        return Files.isDirectory(out.resolve("checkpoint"));
    }

    /** Trains; with {@code resume}, continues from {@code out/checkpoint} if there is one. */
    public Result run(boolean resume) {
        Path ckpt = opt.out().resolve("checkpoint");
        long started = System.nanoTime();
        boolean resuming = resume && hasCheckpoint(opt.out());
        RunState st = new RunState();
        if (resuming) {
            st.stage = CheckpointStore.stageOf(ckpt);
        } else {
            startFresh();
        }
        boolean progressed = false;
        try {
            for (int k = st.stage; k < stages.size(); k++) {
                try (StageRun run = new StageRun(plan, k)) {
                    if (resuming && k == st.stage) {
                        st = store.restore(ckpt, parameters(), run.adam, run.scaler());
                        System.err.printf("resumed from %s at step %d of %d%s%n", ckpt, st.step, run.steps,
                                stages.size() > 1 ? " of stage " + stages.get(k).name() : "");
                    }
                    st.since = started; // this process's part counts from the start of run(), the restore included
                    progressed |= train(run, st);
                    if (k + 1 < stages.size()) {
                        run.keepChosenModel(st);
                        st.nextStage();
                        store.save(ckpt, parameters(), null, st, false, null);
                    } else if (progressed || !resume) {
                        store.save(ckpt, parameters(), run.adam, st, true, run.scaler());
                    }
                }
            }
        } finally {
            listeners.stream().filter(l -> l instanceof ConsoleListener).forEach(l -> ((ConsoleListener) l).close());
        }
        return new Result(st.best, List.copyOf(st.evaluations), totalSteps(st),
                st.skipped, st.wallSeconds(), st.trainedExamples / Math.max(1e-9, st.trainSeconds));
    }

    /** The rest of a stage's updates; whether any was made. */
    private boolean train(StageRun run, RunState st) {
        int startMicro = st.micro;
        TrainingListener.StageInfo info = run.info(st.step);
        each(l -> l.stageStarted(info));
        int inARow = 0;
        long lastSave = System.nanoTime();
        while (st.micro < run.totalMicro) {
            int first = st.micro;
            int end = updateEnd(run, first);
            float lr = run.schedule.at(st.step);
            long t0 = System.nanoTime();
            UpdateStep.Outcome o;
            try (StopSignal.Deferral d = StopSignal.defer()) { // a stop waits for the update and its checkpoint
                o = run.update(st).run(run.ps, run.prefetch, run.adam, first, end, st.step, run.steps, lr,
                        opt.maxGradNorm());
            }
            st.micro = end;
            int examples = run.prefetch.examples(first, end);
            st.trainSeconds += (System.nanoTime() - t0) / 1e9;
            st.trainedExamples += examples;
            if (!o.applied()) {
                String why = run.skipReason(o);
                st.skipped++;
                if (run.mixed == null) {
                    new SkipArchive(opt.out(), store).keep(parameters(), run.adam, st, first, end, run.prefetch, lr,
                            o.values(), why, o.finiteLoss() ? run.adam.nonFiniteParameters() : List.of());
                }
                if (run.mixed == null || !o.finiteLoss()) {
                    inARow++; // an fp16 overflow is the loss scale's business, counted by the scaler
                }
                int step = st.step + 1;
                each(l -> l.skipped(info, step, why));
                if (run.mixed != null && o.finiteLoss() && !run.mixed.scaler().overflowed()) {
                    throw new DistillException("gradients stay non-finite at the lowest loss scale ("
                            + run.adam.nonFiniteParameters() + "): the run diverged; lower the learning rate (now "
                            + run.learningRate + ") or train in fp32");
                }
                if (inARow >= MAX_SKIPPED_IN_A_ROW) {
                    throw new DistillException(inARow + " updates in a row had non-finite values (last: " + why
                            + "); the run diverged: lower the learning rate (now " + run.learningRate + ")");
                }
            } else {
                inARow = 0;
                if (o.recomputed() != null) {
                    int step = st.step + 1;
                    each(l -> l.recomputed(info, step, o.recomputed()));
                }
            }
            st.step++;
            TrainingListener.Update u = new TrainingListener.Update(info, st.step, (double) st.micro / run.perEpoch,
                    run.schedule.at(st.step - 1), o.values(), run.update(st).scheduledWeights(st.step - 1, run.steps),
                    o.norm(), examples, st.micro == run.totalMicro, o.applied());
            each(l -> l.updated(u));
            if (abortAfterStep > 0 && stepsBefore(st.stage) + st.step == abortAfterStep) {
                throw new Aborted(abortAfterStep);
            }
            boolean epochEnd = st.micro / run.perEpoch > first / run.perEpoch; // this update finished an epoch
            int every = run.stage.evalEvery(opt);
            boolean evaluate = st.micro == run.totalMicro || (every > 0 ? st.step % every == 0
                    : run.stage.selection() == Stage.Selection.BEST_ON_DEV && epochEnd);
            if (evaluate) {
                run.prefetch.settle(); // the tokenizer is the evaluator's now
                evaluate(run, info, st);
            }
            boolean stop = StopSignal.stopping();
            if (st.micro < run.totalMicro && (evaluate || stop
                    || (opt.checkpointEvery() > 0 && st.step % opt.checkpointEvery() == 0)
                    || System.nanoTime() - lastSave >= opt.checkpointInterval().toNanos())) {
                store.save(opt.out().resolve("checkpoint"), parameters(), run.adam, st, false, run.scaler());
                lastSave = System.nanoTime();
            }
            if (stop && st.micro < run.totalMicro) {
                System.err.printf("stopped on request after update %d of %d%s: checkpoint written to %s; continue "
                        + "with --resume%n", st.step, run.steps, stages.size() > 1 ? " of stage " + run.stage.name()
                        : "", opt.out().resolve("checkpoint"));
                StopSignal.stopHereIfRequested();
            }
        }
        each(l -> l.stageEnded(info));
        return st.micro > startMicro;
    }

    private void evaluate(StageRun run, TrainingListener.StageInfo info, RunState st) {
        long t0 = System.nanoTime();
        Evaluation e = new Evaluation(st.step, (double) st.micro / run.perEpoch, evaluator.evaluate(student),
                st.stage);
        st.evaluations.add(e);
        boolean best = run.stage.selection() == Stage.Selection.LAST
                || listeners.stream().allMatch(l -> l.selectable(info, st.step))
                && (st.best == null || e.score().value() > st.best.score().value());
        if (best) {
            st.best = e;
            run.chosen(e);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        each(l -> l.evaluated(info, e, best, seconds));
    }

    /**
     * Recomputes an update that a run skipped and kept in {@code dir} ({@code runs/NAME/skipped/step-N})
     * and reports whether its gradients are again non-finite; applies nothing. The trainer must be
     * built as for the run (same recipe): the checkpoint's identity is checked.
     */
    public UpdateReplay replay(Path dir) {
        if (opt.precision() != Precision.FP32) {
            throw new DistillException("replay is for fp32 runs, as only they keep skipped updates (in fp16 a skip is "
                    + "a loss-scale overflow, expected now and then); build the trainer with precision fp32");
        }
        SkipArchive.Kept kept = SkipArchive.read(dir); // first: a wrong directory is named by the file it lacks
        try (StageRun run = new StageRun(plan, CheckpointStore.stageOf(dir))) {
            return UpdateReplay.of(dir, kept, run, store.restore(dir, parameters(), run.adam, null));
        }
    }

    /**
     * The harness for sporadic non-finite gradients: restores the run's checkpoint and computes the
     * gradients of its next {@code updates} updates {@code repeats} times, applying none, so that
     * every repeat computes exactly the same thing (same weights, batches, dropout draws). Reports
     * every computation whose gradients (or loss) were not finite.
     */
    public StressResult stress(int updates, int repeats) {
        if (opt.precision() != Precision.FP32) {
            throw new DistillException("the stress harness is for fp32 runs (in fp16 a non-finite gradient is an "
                    + "expected loss-scale overflow); build the trainer with precision fp32");
        }
        if (updates < 1 || repeats < 1) {
            throw new DistillException("stress needs at least one update and one repeat, got " + updates + " and "
                    + repeats);
        }
        Path dir = opt.out().resolve("checkpoint");
        if (!hasCheckpoint(opt.out())) {
            throw new DistillException(opt.out() + " has no checkpoint to compute updates from: run the recipe first "
                    + "(stop it whenever; a copy of a running run's directory will do)");
        }
        try (StageRun run = new StageRun(plan, CheckpointStore.stageOf(dir))) {
            RunState st = store.restore(dir, parameters(), run.adam, null);
            List<String> names = run.adam.names();
            List<List<StressResult.Computation>> byUpdate = new ArrayList<>();
            int nonFinite = 0;
            long t0 = System.nanoTime();
            for (int r = 1; r <= repeats; r++) {
                int micro = st.micro;
                for (int u = 0; u < updates && micro < run.totalMicro; u++) {
                    int first = micro;
                    int end = updateEnd(run, first);
                    Map<String, Float> values = new LinkedHashMap<>();
                    boolean finiteLoss = run.gradientsOnly(st, first, end, st.step + u, values);
                    double[] squares = run.adam.gradientSquares();
                    run.adam.zeroGradients();
                    StressResult.Computation c = new StressResult.Computation(r, st.step + u + 1, finiteLoss,
                            values, squares);
                    if (byUpdate.size() <= u) {
                        byUpdate.add(new ArrayList<>());
                    }
                    byUpdate.get(u).add(c);
                    nonFinite += c.finite() ? 0 : 1;
                    micro = end;
                }
                System.err.printf("stress: repeat %d of %d done, %d non-finite so far (%.0f s)%n", r, repeats,
                        nonFinite, (System.nanoTime() - t0) / 1e9);
            }
            return StressResult.of(names, byUpdate, (System.nanoTime() - t0) / 1e9);
        }
    }

    /** The micro-batch after the last of the update that starts at micro-batch {@code first}. */
    private int updateEnd(StageRun run, int first) {
        return Math.min(run.totalMicro, (first / opt.accumulation() + 1) * opt.accumulation());
    }

    /** Updates of the stages before stage {@code k}. */
    private int stepsBefore(int k) {
        int n = 0;
        for (int i = 0; i < k; i++) {
            n += StageRun.layout(plan, i).steps();
        }
        return n;
    }

    private int totalSteps(RunState st) {
        return stepsBefore(st.stage) + st.step;
    }

    private void each(java.util.function.Consumer<TrainingListener> event) {
        listeners.forEach(event);
    }

    private void startFresh() {
        try {
            Files.createDirectories(opt.out());
            Files.deleteIfExists(opt.out().resolve("checkpoint").resolve("state.json"));
        } catch (java.io.IOException e) {
            throw new DistillException("Cannot write to " + opt.out() + ": " + e.getMessage(), e);
        }
        listeners.stream().filter(l -> l instanceof MetricsLog).forEach(l -> ((MetricsLog) l).clear());
    }
}
