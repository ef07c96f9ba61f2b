package org.distill4j.recipe;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.distill4j.glue.GlueTask;
import org.distill4j.train.Stage;

/**
 * TinyBERT's general distillation (Jiao et al. 2020, section 3.3): the intermediate terms of
 * {@link TinyBertRecipe} (embeddings through W_e, attention scores, hidden states through W_h)
 * from a pre-trained, not fine-tuned, teacher, on unlabelled text ({@code data.corpus}, one
 * sentence or paragraph per line, read from disk as batches need it). The result is a general
 * student that task distillation starts from ({@code student.init}). Every 100th line (up to
 * 2,000) is held out, and the loss on it is what an evaluation reports.
 */
public final class TinyBertGeneralRecipe implements Recipe {

    @Override
    public String method() {
        return "tinybert-general";
    }

    @Override
    public boolean needsTask() {
        return false;
    }

    @Override
    public Map<String, Object> defaults() {
        return TinyBertRecipe.intermediateDefaults();
    }

    @Override
    public void check(Map<String, Object> s, RecipeFile.Problems p) {
        TinyBertRecipe.checkIntermediate(s, p);
    }

    @Override
    public Map<String, RecipeConfig.StageConfig> stageDefaults(GlueTask task) {
        // The reference runs 3 epochs with warm-up and decay, at lr 5e-5 and batch 256 in its README. Batch 32
        // here (a CPU step), and so 8x the updates; lr 1e-4 for a student that starts from random weights.
        // The held-out loss every 1,000 updates gives the curve.
        return Map.of("general", new RecipeConfig.StageConfig(3, 1e-4, 32, "corpus", "linear", "last", 1000));
    }

    @Override
    public Plan plan(Context c) {
        List<String> notes = new ArrayList<>();
        return new Plan(List.of(Stage.of("general", TinyBertRecipe.intermediateTerms(c, notes))
                .selection(Stage.Selection.LAST).build()), notes);
    }
}
