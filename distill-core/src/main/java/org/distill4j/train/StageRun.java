package org.distill4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.model.BertModel;

/**
 * What one stage of a run holds while it trains: its batches and schedule, the parameters it
 * trains (the rest frozen: no gradient, no optimizer state), a fresh optimizer, the teacher's
 * cached outputs and the update step. Closing it frees the optimizer state and the stage's arrays.
 */
final class StageRun implements AutoCloseable {

    /**
     * A stage's shape: its data, batches, updates and schedule.
     *
     * @param microOffset micro-batches of the stages before it
     */
    record Layout(TrainingData data, int[] lengths, LengthBucketSampler sampler, int perEpoch, int totalMicro, int steps,
            float learningRate, LinearSchedule schedule, int microOffset) {}

    static Layout layout(TrainingPlan t, int k) {
        int offset = 0;
        for (int i = 0; i < k; i++) {
            offset += layout(t, i, 0).totalMicro();
        }
        return layout(t, k, offset);
    }

    private static Layout layout(TrainingPlan t, int k, int offset) {
        TrainerOptions opt = t.options();
        Stage stage = t.stages().get(k);
        TrainingData d = stage.data(t.data());
        int[] lengths = d.lengths();
        LengthBucketSampler sampler = new LengthBucketSampler(lengths, stage.batchSize(opt), opt.seed());
        int perEpoch = sampler.batchesPerEpoch();
        int totalMicro = perEpoch * stage.epochs(opt);
        int steps = (totalMicro + opt.accumulation() - 1) / opt.accumulation();
        float lr = stage.learningRate(opt);
        return new Layout(d, lengths, sampler, perEpoch, totalMicro, steps, lr,
                stage.schedule() == Stage.Schedule.CONSTANT ? LinearSchedule.constant(lr, steps)
                        : LinearSchedule.withWarmupFraction(lr, opt.warmupFraction(), steps), offset);
    }

    final int index;
    final Stage stage;
    final int perEpoch;
    final int totalMicro;
    final int steps;
    final float learningRate;
    final LinearSchedule schedule;
    final AdamW adam;
    final BatchPrefetcher prefetch;
    final MixedPrecision mixed;
    final ParameterStore ps;
    private final TrainingPlan plan;
    private final Layout layout;
    private final NDManager root;
    private UpdateStep update;

    StageRun(TrainingPlan plan, int index) {
        this.plan = plan;
        this.index = index;
        this.stage = plan.stages().get(index);
        this.layout = layout(plan, index);
        this.perEpoch = layout.perEpoch();
        this.totalMicro = layout.totalMicro();
        this.steps = layout.steps();
        this.learningRate = layout.learningRate();
        this.schedule = layout.schedule();
        TrainerOptions opt = plan.options();
        Map<String, Parameter> all = plan.parameters();
        Map<String, Parameter> trainable = stage.trainable().select(all);
        // Frozen parameters take no gradient, so autograd records nothing for them and the
        // optimizer keeps no moments of them.
        all.forEach((name, p) -> p.getArray().setRequiresGradient(trainable.containsKey(name)));
        root = plan.student().manager().newSubManager();
        adam = new AdamW(trainable, opt.weightDecay(), root);
        prefetch = new BatchPrefetcher(layout.sampler(), layout.data(), plan.tokenizer(), totalMicro);
        BertModel teacher = plan.teacher();
        mixed = opt.precision() == Precision.FP32 ? null
                : new MixedPrecision(opt.precision(), trainable,
                        teacher == null ? List.of(plan.student()) : List.of(plan.student(), teacher), root);
        ps = mixed != null ? mixed.store() : new ParameterStore(root, false);
    }

    /**
     * Readies the update step for a stage standing at {@code st} (after a restore): the fp16
     * working copies from the masters, and the teacher's outputs when the stage has updates left.
     */
    UpdateStep update(RunState st) {
        if (update == null) {
            if (mixed != null) {
                mixed.refresh();
            }
            TeacherCache cache = st.micro < totalMicro ? cacheTeacher() : null;
            TrainerOptions opt = plan.options();
            update = new UpdateStep(plan.student(), plan.teacher(), stage, cache, layout.data(),
                    plan.regression(), opt.seed(), layout.microOffset(), mixed);
        }
        return update;
    }

    /**
     * The gradients of the update over micro-batches [first, end), computed and not applied (the
     * harnesses that recompute updates: {@link Trainer#stress}, {@link UpdateReplay}); the loss terms
     * go into {@code values}. The caller reads the gradients from {@link #adam}, then zeroes them.
     *
     * @return whether the loss was finite
     */
    boolean gradientsOnly(RunState st, int first, int end, int step, Map<String, Float> values) {
        return update(st).gradients(ps, prefetch::indices, prefetch::take, first, end, step, steps, values);
    }

    /**
     * The teacher's outputs for every example of the stage, when its terms read only logits, [CLS]
     * vectors, hidden states or attention scores, the options allow it, and they fit in half the heap;
     * otherwise null (the teacher then runs with every batch).
     */
    private TeacherCache cacheTeacher() {
        TeacherRequest r = stage.teacherRequest();
        TrainerOptions opt = plan.options();
        if (r.isEmpty() || !r.cacheable()) {
            return null;
        }
        // Outputs computed elsewhere hold no attention scores: a stage that reads them builds its own.
        if (opt.teacherOutputs() != null && r.attentionScores().isEmpty()) {
            int n = layout.data().size();
            TeacherCache provided = opt.teacherOutputs().load(r.logits(), !r.cls().isEmpty(),
                    r.hidden().stream().mapToInt(Integer::intValue).sorted().toArray(), n);
            if (provided.size() != n) {
                throw new IllegalStateException("the provided teacher outputs cover " + provided.size()
                        + " examples but stage " + stage.name() + " trains on " + n);
            }
            return provided;
        }
        if (!opt.cacheTeacher()) {
            return null;
        }
        return TeacherCache.build(plan.teacher(), ps, plan.tokenizer(), layout.data(), layout.lengths(),
                r.logits(), !r.cls().isEmpty(), r.hidden(), r.attentionScores(),
                Runtime.getRuntime().maxMemory() / 2,
                opt.teacherCacheDir(), opt.precision(), plan.student().manager());
    }

    TrainingListener.StageInfo info(int startStep) {
        return new TrainingListener.StageInfo(index, plan.stages().size(), stage.name(), steps, startStep,
                stage.selection());
    }

    LossScaler scaler() {
        return mixed == null ? null : mixed.scaler();
    }

    /** Why an update was not applied, for the log. */
    String skipReason(UpdateStep.Outcome o) {
        if (!o.finiteLoss()) {
            return "non-finite loss " + o.values();
        }
        if (mixed != null) {
            return "fp16 overflow at loss scale " + mixed.scaler().scale();
        }
        return "non-finite gradients in " + UpdateStep.listed(adam.nonFiniteParameters(), adam.size())
                + (o.recomputed() != null ? " (computed twice)" : "");
    }

    /**
     * A new chosen model of a stage that is not the last: its weights are kept beside the
     * checkpoint, to go on to the next stage when this one ends.
     */
    void chosen(Trainer.Evaluation e) {
        if (index + 1 < plan.stages().size() && stage.selection() == Stage.Selection.BEST_ON_DEV) {
            AtomicDirectory.write(chosenDir(),
                    tmp -> CheckpointStore.writeWeights(plan.parameters(), tmp.resolve("model.safetensors")));
        }
    }

    /** At the end of a stage that is not the last: the model it chose is the one the next stage starts from. */
    void keepChosenModel(RunState st) {
        if (stage.selection() == Stage.Selection.BEST_ON_DEV && st.best != null && st.best.step() != st.step) {
            CheckpointStore.readWeights(chosenDir().resolve("model.safetensors"), plan.parameters());
            System.err.printf("stage %s: going on with its best model (step %d, %s)%n", stage.name(), st.best.step(),
                    st.best.score().summary());
        }
    }

    private Path chosenDir() {
        return plan.options().out().resolve("stage-" + index + "-best");
    }

    @Override
    public void close() {
        prefetch.close();
        adam.close();
        root.close();
    }
}
