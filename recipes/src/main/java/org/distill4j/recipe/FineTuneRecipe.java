package org.distill4j.recipe;

import java.util.List;
import java.util.Map;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.WeightedTerm;

/**
 * No distillation: the student learns from the gold labels alone. The baseline every distilled
 * student is measured against (PKD's "BERT6-FT"), with the same shape and initialisation.
 */
public final class FineTuneRecipe implements Recipe {

    @Override
    public String method() {
        return "finetune";
    }

    @Override
    public Map<String, Object> defaults() {
        return Map.of();
    }

    @Override
    public boolean needsTeacher() {
        return false;
    }

    @Override
    public void check(Map<String, Object> settings, RecipeFile.Problems problems) {}

    @Override
    public Plan plan(Context c) {
        return Plan.single(List.of(WeightedTerm.of(new HardLabelLoss(), 1f)), List.of());
    }
}
