package org.distill4j.prune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.train.TrainingListener;
import org.distill4j.weights.Tensor;

/**
 * Gradual magnitude pruning (Zhu and Gupta 2017), the method the compression literature starts
 * from: the encoder's weight matrices lose their smallest weights by absolute value, the share
 * following {@code s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(nΔt))³} from update t₀ to t₀ + nΔt and
 * staying at s_f after; the masks are recomputed every Δt updates and applied after every update,
 * so a pruned weight stays zero whatever the optimizer does to it. Runs over the plan's last stage.
 * The zeros are stored as zeros: no dense CPU kernel multiplies faster for them, so the model is as
 * large and as fast as before unless a sparse format and kernel are used.
 */
public final class MagnitudePruning implements TrainingListener {

    /** The encoder's projection matrices (not embeddings, LayerNorms, biases or heads). */
    public static final Pattern PRUNED_NAMES = Pattern.compile(
            "encoder\\.layer\\.\\d+\\.(attention\\.self\\.(query|key|value)|attention\\.output\\.dense|intermediate\\.dense"
                    + "|output\\.dense)\\.weight");

    /**
     * @param target s_f, the final share of zeros
     * @param initial s_i, the share at t₀
     * @param start t₀ as a share of the stage's updates
     * @param end t₀ + nΔt as a share of the stage's updates
     * @param every Δt, updates between mask recomputations
     * @param global one threshold over all matrices instead of one per matrix
     */
    public record Schedule(double target, double initial, double start, double end, int every, boolean global) {
        public Schedule {
            if (!(target > 0 && target < 1) || !(initial >= 0 && initial <= target)) {
                throw new IllegalArgumentException("sparsity: target must be in (0, 1) and initial in [0, target], got "
                        + target + " and " + initial);
            }
            if (!(start >= 0 && start < end && end <= 1) || every < 1) {
                throw new IllegalArgumentException("sparsity: need 0 <= start < end <= 1 and every >= 1, got " + start
                        + ", " + end + ", " + every);
            }
        }

        /** The share of zeros after update {@code step} of a stage of {@code steps} updates. */
        public double at(int step, int steps) {
            int t0 = (int) Math.round(start * steps);
            int t1 = Math.max(t0 + 1, (int) Math.round(end * steps));
            if (step < t0) {
                return 0;
            }
            if (step >= t1) {
                return target;
            }
            // The mask changes at t0, t0 + Δt, ...: the schedule is read at the last of these.
            int t = t0 + (step - t0) / every * every;
            double x = 1 - (double) (t - t0) / (t1 - t0);
            return target + (initial - target) * x * x * x;
        }
    }

    private final Schedule schedule;
    private final BertModel model;
    private final Path report;
    private final Map<String, NDArray> masks = new LinkedHashMap<>();
    private Map<String, Parameter> weights;
    private NDManager owner;
    private StageInfo stage;
    private double current = -1;

    /** @param report where the per-matrix sparsity goes at the stage's end (JSON), or null */
    public MagnitudePruning(Schedule schedule, BertModel model, Path report) {
        this.schedule = schedule;
        this.model = model;
        this.report = report;
    }

    @Override
    public void stageStarted(StageInfo s) {
        stage = s.last() ? s : null;
        if (stage != null) {
            owner = model.manager().newSubManager();
            weights = weights();
            prune(schedule.at(s.startStep(), s.steps())); // a resumed run picks up its masks from its weights
        }
    }

    @Override
    public void updated(Update u) {
        if (stage == null || !u.applied()) {
            return;
        }
        prune(schedule.at(u.step(), stage.steps()));
    }

    /** A model short of the target sparsity is not the pruned model the run promises. */
    @Override
    public boolean selectable(StageInfo s, int step) {
        return stage == null || schedule.at(step, stage.steps()) >= schedule.target();
    }

    @Override
    public void stageEnded(StageInfo s) {
        if (stage == null) {
            return;
        }
        if (report != null) {
            write(report);
        }
        System.err.printf("magnitude pruning: %.1f%% of the encoder's projection weights are zero%n",
                100 * sparsity().getOrDefault("all", 0.0));
        masks.values().forEach(NDArray::close);
        masks.clear();
        owner.close();
        stage = null;
    }

    /** Recomputes the masks when the share changed, and applies them. */
    private void prune(double share) {
        if (share != current) {
            masks.values().forEach(NDArray::close);
            masks.clear();
            if (share > 0) {
                float global = schedule.global() ? threshold(weights.values().stream()
                        .map(p -> p.getArray().abs().toFloatArray()).toArray(float[][]::new), share) : 0;
                weights.forEach((name, p) -> {
                    NDArray abs = p.getArray().abs();
                    float t = schedule.global() ? global : threshold(new float[][] {abs.toFloatArray()}, share);
                    NDArray keep = abs.gt(t).toType(p.getArray().getDataType(), false);
                    keep.attach(owner);
                    abs.close();
                    masks.put(name, keep);
                });
            }
            current = share;
        }
        masks.forEach((name, keep) -> weights.get(name).getArray().muli(keep));
    }

    private Map<String, Parameter> weights() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        model.namedParameters().forEach((n, p) -> {
            if (PRUNED_NAMES.matcher(n).matches()) {
                out.put(n, p);
            }
        });
        if (out.isEmpty()) {
            throw new DistillException("magnitude pruning found no encoder projection weights to prune");
        }
        return out;
    }

    /** The magnitude below or at which the smallest {@code share} of all values fall. */
    private static float threshold(float[][] values, double share) {
        int n = Arrays.stream(values).mapToInt(v -> v.length).sum();
        float[] all = new float[n];
        int i = 0;
        for (float[] v : values) {
            System.arraycopy(v, 0, all, i, v.length);
            i += v.length;
        }
        Arrays.sort(all);
        int k = (int) Math.floor(share * n);
        return k == 0 ? -1f : all[k - 1];
    }

    /** The share of zeros of each pruned matrix, and over all of them ({@code all}). */
    public Map<String, Double> sparsity() {
        Map<String, Double> out = new LinkedHashMap<>();
        long zeros = 0;
        long total = 0;
        for (Map.Entry<String, Parameter> e : weights().entrySet()) {
            float[] w = e.getValue().getArray().toFloatArray();
            long z = Tensor.zeros(w);
            out.put(e.getKey(), (double) z / w.length);
            zeros += z;
            total += w.length;
        }
        out.put("all", total == 0 ? 0 : (double) zeros / total);
        return out;
    }

    private void write(Path file) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.putPOJO("schedule", schedule);
        ObjectNode m = n.putObject("sparsity");
        sparsity().forEach(m::put);
        try {
            Json.PRETTY.writeValue(file.toFile(), n);
        } catch (IOException e) {
            throw new DistillException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
