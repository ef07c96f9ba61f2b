package org.distill4j.recipe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.glue.GlueTask;
import org.distill4j.loss.AttentionLoss;
import org.distill4j.loss.HiddenMseLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.BertConfig;
import org.distill4j.train.Stage;

/**
 * TinyBERT's task-specific distillation (Jiao et al. 2020), in its two stages.
 * <ol>
 *   <li>{@code intermediate}: the embedding output through a learned projection W_e (eq. 9), the
 *       attention scores before softmax (eq. 7) and the hidden states through a learned projection
 *       W_h (eq. 8), student layer m learning from teacher layer g(m) = m·N/M and the embeddings
 *       0 ↔ 0; the model at the stage's last update goes on.</li>
 *   <li>{@code prediction}: soft cross-entropy on the logits at temperature T (eq. 10; MSE for a
 *       regression task); the best model on dev is kept.</li>
 * </ol>
 * The projections train with the student and are checkpointed with it, but they are loss-term
 * parameters, not the student's: the exported student has none. The attention term needs as many
 * heads in student and teacher (TinyBERT4 keeps 12 heads of 26 dimensions for that reason).
 *
 * <p>Per-task defaults are those of the reference code's {@code task_distill.py}, which names them
 * but, through two misspelt attribute names, never applies them: intermediate-stage epochs (CoLA 50;
 * MRPC, STS-B, RTE 20; SST-2, QNLI 10; MNLI, QQP 5) and 64 tokens for CoLA and SST-2 (128 otherwise).
 * The intermediate stage runs at a constant learning rate, as there; the prediction stage warms up
 * and decays.
 */
public final class TinyBertRecipe implements Recipe {

    @Override
    public String method() {
        return "tinybert";
    }

    @Override
    public Map<String, Object> defaults() {
        Map<String, Object> d = intermediateDefaults();
        d.put("temperature", 1.0); // the paper's T for the prediction layer
        return d;
    }

    /** The settings of the intermediate terms, shared with general distillation. */
    static Map<String, Object> intermediateDefaults() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("embedding", 1.0); // weights of the intermediate terms: the paper sums them unweighted
        d.put("attention", 1.0);
        d.put("hidden", 1.0);
        d.put("teacher_layers", List.of()); // explicit teacher layers for student layers 1..M
        // How W_e and W_h start: carried on from the general student's run (or, for a student narrowed
        // from the teacher's width, as its placement), else at random; "random" always at random.
        d.put("projections", "carry");
        return d;
    }

    @Override
    public void check(Map<String, Object> s, RecipeFile.Problems p) {
        checkIntermediate(s, p);
        Recipe.checkRange(s, "temperature", 0, 100, true, p);
    }

    static void checkIntermediate(Map<String, Object> s, RecipeFile.Problems p) {
        Recipe.checkRange(s, "embedding", 0, 1000, false, p);
        Recipe.checkRange(s, "attention", 0, 1000, false, p);
        Recipe.checkRange(s, "hidden", 0, 1000, false, p);
        Recipe.checkTeacherLayers(s, p);
        if (!Recipe.oneOf(s.get("projections"), "carry", "random")) {
            p.add("distill.projections", "carry or random, got '" + s.get("projections") + "'");
        }
    }

    @Override
    public Map<String, RecipeConfig.StageConfig> stageDefaults(GlueTask task) {
        Map<String, RecipeConfig.StageConfig> m = new LinkedHashMap<>();
        m.put("intermediate", new RecipeConfig.StageConfig(intermediateEpochs(task), 5e-5, 32, "train", "constant",
                "last", 0));
        m.put("prediction", new RecipeConfig.StageConfig(3, 3e-5, 32, "train", "linear", "best", 0));
        return m;
    }

    /** The reference's intended intermediate-stage epochs per task. */
    static int intermediateEpochs(GlueTask task) {
        return switch (task.dirName()) {
            case "CoLA" -> 50;
            case "MRPC", "STS-B", "RTE" -> 20;
            case "SST-2", "QNLI" -> 10;
            case "MNLI", "QQP" -> 5;
            default -> 20; // WNLI, a small pair task like RTE
        };
    }

    @Override
    public int maxLength(GlueTask task) {
        return task != null && (task.dirName().equals("CoLA") || task.dirName().equals("SST-2")) ? 64 : 128;
    }

    @Override
    public Plan plan(Context c) {
        List<String> notes = new ArrayList<>();
        List<WeightedTerm> intermediate = intermediateTerms(c, notes);
        Stage first = Stage.of("intermediate", intermediate).selection(Stage.Selection.LAST)
                .schedule(Stage.Schedule.CONSTANT).build();
        Stage second = Stage.of("prediction", List.of(WeightedTerm.of(new SoftTargetLoss(
                (float) c.number("temperature")), 1f))).build();
        return new Plan(List.of(first, second), notes);
    }

    /**
     * The intermediate terms, shared by task-specific and general distillation: embedding MSE
     * through W_e, attention-score MSE and hidden-state MSE through W_h, each left out at weight 0.
     */
    static List<WeightedTerm> intermediateTerms(Context c, List<String> notes) {
        BertConfig s = c.student().config();
        BertConfig t = c.teacher().config();
        int m = s.numHiddenLayers();
        int n = t.numHiddenLayers();
        LayerMapping layers = Recipe.teacherLayers(c);
        if (layers == null) {
            layers = LayerMapping.uniform(m, n);
        } else if (layers.pairs().size() != m) {
            throw new DistillException("distill.teacher_layers names " + layers.pairs().size() + " teacher layers but "
                    + "the student has " + m + ": give one per student layer");
        }
        layers.validate(m, n);
        List<WeightedTerm> terms = new ArrayList<>();
        // A student narrowed from a model of the teacher's width starts W_e and W_h as the placement of
        // its dimensions in that model's, which the teacher's share (StudentInit.placement gives one
        // only then; HiddenMseLoss checks it against both widths).
        boolean carry = c.word("projections").equals("carry");
        int[] placement = carry ? c.placement() : null;
        // A student that starts from a general student carries on its run's W_e and W_h, as the reference does.
        List<HiddenMseLoss> projected = new ArrayList<>();
        if (c.number("embedding") > 0) {
            HiddenMseLoss embedding = new HiddenMseLoss("embedding", LayerMapping.explicit(new int[] {0},
                    new int[] {0}), s.hiddenSize(), t.hiddenSize(), c.owner(), placement);
            projected.add(embedding);
            terms.add(WeightedTerm.of(embedding, (float) c.number("embedding")));
        }
        if (c.number("attention") > 0) {
            if (s.numAttentionHeads() != t.numAttentionHeads()) {
                throw new DistillException("the attention term compares heads one to one, but the student has "
                        + s.numAttentionHeads() + " heads and the teacher " + t.numAttentionHeads() + ": give the "
                        + "student " + t.numAttentionHeads() + " heads (student.shape.heads; TinyBERT4 has 12 of 26 "
                        + "dimensions) or set distill.attention: 0");
            }
            terms.add(WeightedTerm.of(new AttentionLoss(layers, AttentionLoss.Kind.SCORES_MSE),
                    (float) c.number("attention")));
        }
        if (c.number("hidden") > 0) {
            HiddenMseLoss hidden = new HiddenMseLoss("hidden", layers, s.hiddenSize(), t.hiddenSize(), c.owner(),
                    placement);
            projected.add(hidden);
            terms.add(WeightedTerm.of(hidden, (float) c.number("hidden")));
        }
        if (terms.isEmpty()) {
            throw new DistillException("distill.embedding, attention and hidden are all 0: the intermediate stage would "
                    + "learn nothing");
        }
        List<String> carried = new ArrayList<>();
        for (HiddenMseLoss h : projected) {
            if (carry && h.startFrom(c.projections())) {
                carried.add(h.name());
            }
        }
        String start = !carried.isEmpty() ? ", " + String.join(" and ", carried) + " starting from "
                + c.projections().source()
                : placement != null ? ", starting as the narrowed student's placement" : "";
        notes.add("layer mapping (student->teacher): 0->0 (embeddings), " + layers
                + (s.hiddenSize() != t.hiddenSize() ? "; learned projections W_e, W_h: " + s.hiddenSize() + " -> "
                        + t.hiddenSize() + start + " (not exported)" : ""));
        return terms;
    }
}
