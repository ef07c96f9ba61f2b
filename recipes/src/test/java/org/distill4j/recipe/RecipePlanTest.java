package org.distill4j.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distill4j.glue.GlueTask;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Stage;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each method's plan, read as its paper states it: the terms, their weights, and which teacher
 * layers they read, for a 3-layer student of the 6-layer all-MiniLM-L6-v2.
 */
class RecipePlanTest {

    private static NDManager m;
    private static BertModel teacher;
    private static BertModel student;
    private static BertTokenizer tok;

    @BeforeAll
    static void models() {
        Checkpoint minilm = Checkpoint.load("builtin:all-minilm-l6-v2");
        m = NDManager.newBaseManager();
        teacher = minilm.toModel(m, new BertModel.Heads(false, false, 2));
        student = StudentInit.fromLayers(minilm, List.of(2, 4, 6)).toModel(m, new BertModel.Heads(false, false, 2));
        tok = minilm.tokenizer(64);
    }

    @AfterAll
    static void close() {
        tok.close();
        m.close();
    }

    private static Stage plan(Recipe recipe, Map<String, Object> changes) {
        Map<String, Object> settings = new LinkedHashMap<>(recipe.defaults());
        settings.putAll(changes);
        List<Stage> stages = recipe.plan(new Recipe.Context(student, teacher, tok, GlueTask.SST2, settings, m)).stages();
        assertEquals(1, stages.size(), "these methods train in one stage");
        assertEquals(Stage.Selection.BEST_ON_DEV, stages.get(0).selection());
        return stages.get(0);
    }

    /** "name × weight" of each term. */
    private static List<String> terms(Stage s) {
        return s.terms().stream().map(WeightedTerm::toString).toList();
    }

    @Test
    void distilBertWeighsHardSoftAndCosineOnTheLastLayers() {
        Stage s = plan(new DistilBertRecipe(), Map.of());
        assertEquals(List.of("hard × 0.500", "soft × 0.500", "cosine × 1.00"), terms(s));
        // The cosine term reads the teacher's last layer's token states; soft targets its logits.
        assertEquals(Set.of(6), s.teacherRequest().hidden());
        assertEquals(true, s.teacherRequest().logits());
        assertEquals(true, s.teacherRequest().cacheable());
        assertEquals(List.of("hard × 0.200", "soft × 0.800"),
                terms(plan(new DistilBertRecipe(), Map.of("hard_weight", 0.2, "soft_weight", 0.8, "cosine", 0.0))));
    }

    @Test
    void pkdLeavesTheStudentsLastLayerOutOfThePatienceTerm() {
        // Skip: student layer m learns from teacher layer 2m; layer 3 is taught by the soft targets alone.
        Stage skip = plan(new PkdRecipe(), Map.of());
        assertEquals(List.of("hard × 0.500", "soft × 0.500", "patience × 100"), terms(skip));
        assertEquals(Set.of(2, 4), skip.teacherRequest().cls());
        // Last: the teacher's top layers 4, 5 (6 pairs with the student's left-out last layer).
        assertEquals(Set.of(4, 5), plan(new PkdRecipe(), Map.of("strategy", "last")).teacherRequest().cls());
        assertEquals(Set.of(1, 3), plan(new PkdRecipe(), Map.of("teacher_layers", List.of(1, 3))).teacherRequest().cls());
    }

    @Test
    void fineTuningIsTheHardLabelsAlone() {
        Stage s = plan(new FineTuneRecipe(), Map.of());
        assertEquals(List.of("hard × 1.00"), terms(s));
        assertEquals(true, s.teacherRequest().isEmpty());
    }

    @Test
    void aStudentFromLayersKeepsThemInOrderRenumbered() {
        Checkpoint minilm = Checkpoint.load("builtin:all-minilm-l6-v2");
        Checkpoint cut = StudentInit.fromLayers(minilm, List.of(2, 4, 6));
        assertEquals(3, cut.config().numHiddenLayers());
        // Student layer 0 is teacher layer 2 (1-based), i.e. encoder.layer.1; layer 2 is encoder.layer.5.
        String q = ".attention.self.query.weight";
        assertEquals(java.util.Arrays.toString(minilm.weights().get("encoder.layer.1" + q).data()),
                java.util.Arrays.toString(cut.weights().get("encoder.layer.0" + q).data()));
        assertEquals(java.util.Arrays.toString(minilm.weights().get("encoder.layer.5" + q).data()),
                java.util.Arrays.toString(cut.weights().get("encoder.layer.2" + q).data()));
        assertEquals(false, cut.weights().contains("encoder.layer.3" + q));
        assertEquals(minilm.weights().get("embeddings.word_embeddings.weight").data().length,
                cut.weights().get("embeddings.word_embeddings.weight").data().length);
        org.distill4j.DistillException twice = org.junit.jupiter.api.Assertions.assertThrows(
                org.distill4j.DistillException.class, () -> StudentInit.fromLayers(minilm, List.of(2, 2)));
        assertEquals("student.layers [2, 2] names a layer twice", twice.getMessage());
        org.distill4j.DistillException deep = org.junit.jupiter.api.Assertions.assertThrows(
                org.distill4j.DistillException.class, () -> StudentInit.fromLayers(minilm, List.of(2, 7)));
        assertEquals("student.layers[1] is 7 but builtin:all-minilm-l6-v2 has layers 1 to 6", deep.getMessage());
    }
}
