package org.distill4j.recipe;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.PatienceLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.mapping.LayerMapping;

/**
 * Patient knowledge distillation (Sun et al. 2019): L = w_hard·CE(hard) + w_soft·T²·KL(soft) + β·L_PT
 * (the paper's 1 − α and α are the first two weights),
 * where L_PT compares the normalised [CLS] states of the student's layers with teacher layers
 * chosen by the strategy: {@code skip} (every N/M-th layer) or {@code last} (the top M). The
 * student's last layer is left out of L_PT, as in the paper: its output is already taught by the
 * soft-target term. {@code teacher_layers} gives the teacher layers explicitly instead.
 */
public final class PkdRecipe implements Recipe {

    @Override
    public String method() {
        return "pkd";
    }

    @Override
    public Map<String, Object> defaults() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("strategy", "skip");
        d.put("hard_weight", 0.5); // the paper's 1 − α; it searched α in {0.2, 0.5, 0.7}
        d.put("soft_weight", 0.5); // the paper's α
        d.put("temperature", 10.0); // {5, 10, 20}
        d.put("beta", 100.0); // {10, 100, 500, 1000}
        d.put("teacher_layers", List.of()); // explicit teacher layers for student layers 1..M−1
        return d;
    }

    @Override
    public void check(Map<String, Object> s, RecipeFile.Problems p) {
        if (!Recipe.oneOf(s.get("strategy"), "skip", "last")) {
            p.add("distill.strategy", "skip or last, got '" + s.get("strategy") + "'");
        }
        Recipe.checkRange(s, "hard_weight", 0, 1000, false, p);
        Recipe.checkRange(s, "soft_weight", 0, 1000, false, p);
        Recipe.checkRange(s, "temperature", 0, 100, true, p);
        Recipe.checkRange(s, "beta", 0, 100_000, false, p);
        Recipe.checkTeacherLayers(s, p);
    }

    @Override
    public Plan plan(Context c) {
        int m = c.student().config().numHiddenLayers();
        int n = c.teacher().config().numHiddenLayers();
        LayerMapping mapping = Recipe.teacherLayers(c);
        if (mapping == null && m == 1) {
            return Plan.single(List.of(WeightedTerm.of(new HardLabelLoss(), (float) c.number("hard_weight")),
                    WeightedTerm.of(new SoftTargetLoss((float) c.number("temperature")),
                            (float) c.number("soft_weight"))),
                    List.of("a 1-layer student has no intermediate layer to be patient with: no PT term"));
        }
        if (mapping == null) {
            mapping = (c.word("strategy").equals("skip") ? LayerMapping.uniform(m, n) : LayerMapping.last(m, n))
                    .withoutStudentLayer(m);
        }
        mapping.validate(m, n);
        return Plan.single(List.of(
                WeightedTerm.of(new HardLabelLoss(), (float) c.number("hard_weight")),
                WeightedTerm.of(new SoftTargetLoss((float) c.number("temperature")), (float) c.number("soft_weight")),
                WeightedTerm.of(new PatienceLoss(mapping), (float) c.number("beta"))),
                List.of("patience mapping (student->teacher): " + mapping));
    }
}
