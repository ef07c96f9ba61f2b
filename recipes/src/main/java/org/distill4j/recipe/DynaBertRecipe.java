package org.distill4j.recipe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.distill4j.DistillException;
import org.distill4j.loss.HiddenMseLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertConfig;
import org.distill4j.train.Stage;
import org.distill4j.train.StepObjective;
import org.distill4j.train.SubNetwork;

/**
 * DynaBERT (Hou et al. 2020): one network whose sub-networks at every width (share of each layer's
 * heads and FFN neurons) and depth (share of its layers) are usable. Every batch runs each
 * sub-network of the grid against the teacher's outputs, computed once, and their gradients add
 * up before the update. Loss per sub-network: λ1 · soft cross-entropy on the logits (MSE for a
 * regression) + λ2 · Σ MSE of the embedding output and of each layer that ran against the
 * teacher's state of the same layer.
 *
 * <p>Two runs, as in the paper: DynaBERT_W (widths, full depth, λ2 = 0.1) from the fine-tuned
 * teacher, its student the teacher rewired by importance ({@code rewire: true}); then DynaBERT
 * (widths × depths [1, 0.75, 0.5], λ1 = λ2 = 1) starting from DynaBERT_W and taught by it at full
 * width, as the reference code does. The model kept is the one best on dev averaged over the grid;
 * {@code ./distill extract} cuts any sub-network out as a smaller model.
 */
public final class DynaBertRecipe implements Recipe {

    @Override
    public String method() {
        return "dynabert";
    }

    @Override
    public Map<String, Object> defaults() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("widths", List.of(1.0, 0.75, 0.5, 0.25));
        d.put("depths", List.of(1.0));
        d.put("logit_weight", 1.0); // λ1
        d.put("hidden_weight", 0.1); // λ2: 0.1 for DynaBERT_W, 1.0 for width x depth in the paper
        d.put("temperature", 1.0);
        d.put("rewire", true); // rewire the student by importance on the training data before training
        return d;
    }

    @Override
    public void check(Map<String, Object> s, RecipeFile.Problems p) {
        for (String key : List.of("widths", "depths")) {
            Object v = s.get(key);
            if (!(v instanceof List<?> l) || l.isEmpty()) {
                p.add("distill." + key, "a non-empty list of shares in (0, 1], e.g. [1.0, 0.5]");
                continue;
            }
            for (int i = 0; i < l.size(); i++) {
                if (!(l.get(i) instanceof Number n) || !(n.doubleValue() > 0 && n.doubleValue() <= 1)) {
                    p.add("distill." + key + "[" + i + "]", "a share in (0, 1], got " + l.get(i));
                }
            }
        }
        Recipe.checkRange(s, "logit_weight", 0, 1000, false, p);
        Recipe.checkRange(s, "hidden_weight", 0, 1000, false, p);
        Recipe.checkRange(s, "temperature", 0, 100, true, p);
        if (!(s.get("rewire") instanceof Boolean)) {
            p.add("distill.rewire", "true or false, got '" + s.get("rewire") + "'");
        }
    }

    /** Whether the run rewires its student by importance before training. */
    static boolean rewires(Map<String, Object> settings) {
        return Boolean.TRUE.equals(settings.get("rewire"));
    }

    @Override
    public List<SubNetwork> evaluated(Map<String, Object> settings, BertConfig student) {
        return grid(settings, student.numHiddenLayers());
    }

    /** Every width at every depth, widest and deepest first. */
    static List<SubNetwork> grid(Map<String, Object> settings, int layers) {
        List<Double> widths = shares(settings.get("widths"));
        List<Double> depths = shares(settings.get("depths"));
        List<SubNetwork> out = new ArrayList<>();
        for (double d : depths) {
            int[] kept = d == 1.0 ? null : SubNetwork.depthLayers(d, layers);
            for (double w : widths) {
                out.add(w == 1.0 && d == 1.0 ? SubNetwork.FULL
                        : new SubNetwork(String.format("w%s-d%s", trim(w), trim(d)), kept, w, w));
            }
        }
        return out;
    }

    @Override
    public Plan plan(Context c) {
        BertConfig s = c.student().config();
        BertConfig t = c.teacher().config();
        if (s.numHiddenLayers() != t.numHiddenLayers() || s.hiddenSize() != t.hiddenSize()) {
            throw new DistillException("dynabert trains the teacher's own shape (" + t.numHiddenLayers() + " layers x "
                    + t.hiddenSize() + ") and matches each layer with the teacher's of the same number; the student is "
                    + s.numHiddenLayers() + " x " + s.hiddenSize() + ": start it from the teacher (student.layers "
                    + "1..N or student.init)");
        }
        int[] layers = IntStream.rangeClosed(1, s.numHiddenLayers()).toArray();
        float hidden = (float) c.number("hidden_weight");
        List<WeightedTerm> terms = List.of(
                WeightedTerm.of(new SoftTargetLoss((float) c.number("temperature")), (float) c.number("logit_weight")),
                WeightedTerm.of(HiddenMseLoss.sameLayers("embedding", new int[] {0}), hidden),
                WeightedTerm.of(HiddenMseLoss.sameLayers("hidden", layers), hidden));
        List<SubNetwork> grid = grid(c.settings(), s.numHiddenLayers());
        Stage stage = Stage.of("train", terms).objective(new StepObjective(grid)).build();
        List<String> notes = new ArrayList<>();
        notes.add("sub-networks per batch (" + grid.size() + "): " + grid);
        return new Plan(List.of(stage), notes);
    }

    private static List<Double> shares(Object v) {
        List<Double> out = new ArrayList<>();
        for (Object o : (List<?>) v) {
            out.add(((Number) o).doubleValue());
        }
        out.sort((a, b) -> Double.compare(b, a));
        return out;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Integer.toString((int) v) : Double.toString(v);
    }
}
