package org.distill4j.recipe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
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
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("embedding", 1.0);
        d.put("attention", 1.0);
        d.put("hidden", 1.0);
        d.put("teacher_layers", List.of());
        return d;
    }

    @Override
    public void check(Map<String, Object> s, RecipeFile.Problems p) {
        TinyBertRecipe.checkIntermediate(s, p);
    }

    @Override
    public Map<String, RecipeConfig.StageConfig> stageDefaults(GlueTask task) {
        // The paper's general distillation: 3 epochs, batch 256, lr 1e-4 (general_distill.py defaults, which
        // warm up and decay linearly); batch 32 here, to fit a CPU step in memory.
        return Map.of("general", new RecipeConfig.StageConfig(3, 1e-4, 32, "corpus", "linear", "last"));
    }

    @Override
    public Plan plan(Context c) {
        List<String> notes = new ArrayList<>();
        return new Plan(List.of(Stage.of("general", TinyBertRecipe.intermediateTerms(c, notes))
                .selection(Stage.Selection.LAST).build()), notes);
    }
}
