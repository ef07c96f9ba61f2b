package org.distill4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;
import org.distill4j.loss.StepContext;
import org.distill4j.loss.TeacherOutputs;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertModel;
import org.distill4j.model.DropoutMasks;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;
import org.distill4j.model.ForwardOptions;
import org.distill4j.model.Scalar;
import org.distill4j.text.TokenBatch;

/**
 * One update of a stage: forward and backward of its micro-batches (each running the stage's
 * {@link StepObjective}), then AdamW. An fp32 update whose gradients come out non-finite from a
 * finite loss is computed once more before it is given up. That was the symptom of constants freed
 * before the backward pass read them (see {@link org.distill4j.model.Scalar}); it stays as a guard.
 * The update, its recomputation and a replay all go through {@link #gradients}, so they compute the
 * same thing.
 */
final class UpdateStep {

    /**
     * What an update did.
     *
     * @param values each term's unweighted value and {@code loss}, averaged over micro-batches
     * @param norm the global gradient norm (not finite when the update was skipped)
     * @param finiteLoss whether every loss was finite
     * @param recomputed why the update was computed a second time, or null
     */
    record Outcome(Map<String, Float> values, float norm, boolean finiteLoss, String recomputed) {
        boolean applied() {
            return finiteLoss && Float.isFinite(norm);
        }
    }

    private final BertModel student;
    private final BertModel teacher;
    private final Stage stage;
    private final TeacherRequest request;
    private final TeacherCache cache;
    private final TrainingData data;
    private final boolean regression;
    private final long seed;
    private final int microOffset;
    private final MixedPrecision mixed;

    /**
     * @param cache the teacher's outputs computed before training, or null to run the teacher live
     * @param microOffset micro-batches of the earlier stages: dropout and masking are seeded by the
     *     micro-batch's index over the whole run, so no two stages draw the same
     */
    UpdateStep(BertModel student, BertModel teacher, Stage stage, TeacherCache cache, TrainingData data,
            boolean regression, long seed, int microOffset, MixedPrecision mixed) {
        this.student = student;
        this.teacher = teacher;
        this.stage = stage;
        this.request = stage.teacherRequest();
        this.cache = cache;
        this.data = data;
        this.regression = regression;
        this.seed = seed;
        this.microOffset = microOffset;
        this.mixed = mixed;
    }

    /** Computes and applies the update made of micro-batches {@code [first, end)}, update {@code step} of {@code steps}. */
    Outcome run(ParameterStore ps, BatchPrefetcher prefetch, AdamW adam, int first, int end, int step, int steps,
            float lr, float maxGradNorm) {
        Map<String, Float> values = new LinkedHashMap<>();
        boolean finite = gradients(ps, prefetch::indices, prefetch::take, first, end, step, steps, values);
        float norm = finite ? apply(adam, lr, maxGradNorm) : Float.NaN;
        String recomputed = null;
        if (finite && !Float.isFinite(norm) && mixed == null) {
            recomputed = "non-finite gradients in " + listed(adam.nonFiniteParameters(), adam.size());
            values.clear();
            finite = gradients(ps, prefetch::indices, prefetch::again, first, end, step, steps, values);
            norm = finite ? apply(adam, lr, maxGradNorm) : Float.NaN;
        }
        if (!finite) {
            adam.zeroGradients(); // earlier micro-batches of this update may have left some
            if (mixed != null) {
                mixed.zeroGradients();
            }
        }
        return new Outcome(values, norm, finite, recomputed);
    }

    /** The weight of each scheduled term at update {@code step} (constant ones left out). */
    Map<String, Float> scheduledWeights(int step, int steps) {
        Map<String, Float> w = new LinkedHashMap<>();
        for (WeightedTerm t : stage.terms()) {
            if (!t.schedule().constant()) {
                w.put(t.name(), t.schedule().at(step, steps));
            }
        }
        return w;
    }

    /**
     * Forward and backward of micro-batches {@code [first, end)}, gradients accumulating in the
     * parameters (or the fp16 working copies).
     *
     * @return whether every loss was finite (all micro-batches are computed either way)
     */
    boolean gradients(ParameterStore ps, IntFunction<int[]> indices, IntFunction<TokenBatch> batches, int first,
            int end, int step, int steps, Map<String, Float> values) {
        boolean finite = true;
        for (int micro = first; micro < end; micro++) {
            finite &= micro(ps, indices.apply(micro), batches.apply(micro), end - first, micro, step, steps, values);
        }
        return finite;
    }

    /**
     * @param share micro-batches in this update: each backward is scaled by 1/share
     * @return whether the loss was finite (if not, that forward was not back-propagated)
     */
    private boolean micro(ParameterStore ps, int[] idx, TokenBatch batch, int share, int micro, int step, int steps,
            Map<String, Float> values) {
        long global = microOffset + (long) micro;
        // Dropout and masking depend only on (seed, micro-batch): a resumed run draws the same.
        long draws = seed * 1_000_003L + global;
        try (NDManager s = student.manager().newSubManager(); DropoutMasks masks = DropoutMasks.seeded(draws)) {
            Engine.getInstance().setRandomSeed((int) draws);
            Random random = new Random(seed * 7_919L + global);
            EncoderInput in = batch.toInput(s);
            float[] gold = data.labels(idx);
            NDArray labels = gold == null ? null : s.create(gold);
            TeacherOutputs t = request.isEmpty() ? null
                    : cache != null ? cache.outputs(s, idx, batch.sequenceLength(), request)
                    : new LiveTeacher(teacher, ps, in, request, s);
            StepObjective objective = stage.objective();
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                for (SubNetwork n : objective.subNetworks()) {
                    ForwardOptions options = n == SubNetwork.FULL ? ForwardOptions.ALL
                            : n.options(s, student.config());
                    EncoderOutput sOut = student.encode(ps, in, options, true);
                    NDArray sLogits = student.heads().taskOutputs() > 0 ? student.classify(ps, sOut, true) : null;
                    StepContext ctx = new StepContext(ps, s, student, in, sOut, sLogits, t, labels, regression, random);
                    NDArray total = null;
                    for (WeightedTerm term : stage.terms()) {
                        NDArray v = term.term().compute(ctx);
                        values.merge(objective.valueName(term.name(), n), v.getFloat() / share, Float::sum);
                        NDArray weighted = Scalar.mul(v, term.schedule().at(step, steps));
                        total = total == null ? weighted : total.add(weighted);
                    }
                    float loss = total.getFloat();
                    values.merge("loss", loss / share, Float::sum);
                    if (!Float.isFinite(loss)) {
                        return false; // the update is skipped: the other sub-networks need not run
                    }
                    float scale = (mixed == null ? 1f : mixed.scaler().scale()) / share;
                    gc.backward(scale == 1f ? total : Scalar.mul(total, scale));
                }
            }
            return true;
        }
    }

    /** Applies the accumulated gradients: straight from the parameters, or unscaled from fp16 working copies. */
    private float apply(AdamW adam, float lr, float maxGradNorm) {
        if (mixed == null) {
            return adam.step(lr, maxGradNorm);
        }
        float norm;
        try (NDManager tmp = student.manager().newSubManager()) {
            norm = adam.step(lr, maxGradNorm, mixed.gradients(tmp));
        }
        mixed.zeroGradients();
        if (Float.isFinite(norm)) {
            mixed.refresh();
            mixed.scaler().updated();
        }
        return norm;
    }

    /** A list of parameters for a log line: all of a few, the first three of many. */
    static String listed(List<String> names, int of) {
        return names.size() <= 4 ? names.toString()
                : names.size() + " of " + of + " parameters " + names.subList(0, 3) + " and " + (names.size() - 3)
                        + " more";
    }
}
