package org.distill4j.recipe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distill4j.DistillException;
import org.distill4j.loss.CosineLoss;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.MaskedLmLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.mapping.LayerMapping;

/**
 * DistilBERT (Sanh et al. 2019) for a task: the student starts from every other teacher layer
 * ({@code student.layers: [2, 4, ...]}) and learns
 * w_hard·CE(hard labels) + w_soft·T²·KL(soft targets) + w_cos·(1 − cos) on the last hidden states
 * (the paper's α and 1 − α are the first two weights),
 * plus the masked-LM distillation term when both models have a masked-LM head (BERT-base does;
 * the ONNX builtins do not, and the log says the term is unavailable).
 */
public final class DistilBertRecipe implements Recipe {

    @Override
    public String method() {
        return "distilbert";
    }

    @Override
    public Map<String, Object> defaults() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("hard_weight", 0.5); // DistilBERT's α on the gold labels
        d.put("soft_weight", 0.5); // and 1 − α on the soft targets
        d.put("temperature", 2.0); // DistilBERT's T
        d.put("cosine", 1.0);
        d.put("mlm", "auto"); // auto: 0.5 when both models have a masked-LM head; off; or a weight
        return d;
    }

    @Override
    public void check(Map<String, Object> s, RecipeFile.Problems p) {
        Recipe.checkRange(s, "hard_weight", 0, 1000, false, p);
        Recipe.checkRange(s, "soft_weight", 0, 1000, false, p);
        Recipe.checkRange(s, "temperature", 0, 100, true, p);
        Recipe.checkRange(s, "cosine", 0, 1000, false, p);
        Object mlm = s.get("mlm");
        if (Boolean.FALSE.equals(mlm)) {
            // YAML 1.1 reads a bare `off` (in a file or a --set) as the boolean false.
            mlm = "off";
            s.put("mlm", mlm);
        }
        if (!(mlm instanceof Number) && !"auto".equals(mlm) && !"off".equals(mlm)) {
            p.add("distill.mlm", "auto, off, or a weight; got '" + mlm + "'");
        } else {
            Recipe.checkRange(s, "mlm", 0, 1000, false, p);
        }
    }

    @Override
    public Plan plan(Context c) {
        float t = (float) c.number("temperature");
        List<WeightedTerm> terms = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        terms.add(WeightedTerm.of(new HardLabelLoss(), (float) c.number("hard_weight")));
        terms.add(WeightedTerm.of(new SoftTargetLoss(t), (float) c.number("soft_weight")));
        if (c.number("cosine") > 0) {
            if (c.student().config().hiddenSize() != c.teacher().config().hiddenSize()) {
                throw new DistillException("distill.cosine needs student and teacher of one width (student "
                        + c.student().config().hiddenSize() + ", teacher " + c.teacher().config().hiddenSize()
                        + "); set distill.cosine: 0");
            }
            LayerMapping last = LayerMapping.explicit(new int[] {c.student().config().numHiddenLayers()},
                    new int[] {c.teacher().config().numHiddenLayers()});
            terms.add(WeightedTerm.of(new CosineLoss(last), (float) c.number("cosine")));
        }
        Object mlm = c.settings().get("mlm");
        boolean heads = c.teacher().heads().maskedLm() && c.student().heads().maskedLm();
        if (mlm instanceof Number n) {
            if (!heads) {
                throw new DistillException("distill.mlm is " + n + " but the teacher has no masked-LM head (only "
                        + "checkpoints with cls.predictions.* have one, e.g. builtin:bert-base-uncased); set "
                        + "distill.mlm: auto or off");
            }
            terms.add(mlmTerm(c, n.floatValue(), t));
        } else if ("auto".equals(mlm)) {
            if (heads) {
                terms.add(mlmTerm(c, 0.5f, t));
            } else {
                notes.add("masked-LM term unavailable: the teacher has no masked-LM head");
            }
        }
        return Plan.single(terms, notes);
    }

    private static WeightedTerm mlmTerm(Context c, float weight, float t) {
        var tok = c.tokenizer();
        Set<Long> special = Set.of(tok.tokenId("[CLS]"), tok.tokenId("[SEP]"), tok.tokenId("[PAD]"));
        return WeightedTerm.of(new MaskedLmLoss(t, tok.tokenId("[MASK]"), c.student().config().vocabSize(), special),
                weight);
    }
}
