package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.loss.WeightSchedule;
import org.junit.jupiter.api.Test;

/** The engine's small parts, with values worked out by hand. */
class EngineUnitsTest {

    @Test
    void weightSchedulesGiveTheWeightOfEachUpdate() {
        assertEquals(0.5f, WeightSchedule.constant(0.5f).at(7, 10));
        // Linear over 5 updates from 1 to 0: steps 0..4 get 1, 0.75, 0.5, 0.25, 0.
        WeightSchedule down = WeightSchedule.linear(1f, 0f);
        assertEquals(1f, down.at(0, 5));
        assertEquals(0.75f, down.at(1, 5));
        assertEquals(0f, down.at(4, 5));
        assertFalse(down.constant());
        assertTrue(WeightSchedule.linear(2f, 2f).constant());
        // 0 until update 3, 1 from 3, 2 from 6.
        WeightSchedule later = WeightSchedule.steps(0f, new int[] {3, 6}, new float[] {1f, 2f});
        assertEquals(0f, later.at(2, 10));
        assertEquals(1f, later.at(3, 10));
        assertEquals(1f, later.at(5, 10));
        assertEquals(2f, later.at(9, 10));
        assertThrows(IllegalArgumentException.class, () -> WeightSchedule.steps(0f, new int[] {6, 3},
                new float[] {1f, 2f}));
    }

    @Test
    void parameterSelectionsAreGlobsOverNames() {
        ParameterSelection attention = ParameterSelection.only("encoder.layer.*.attention.*");
        assertTrue(attention.trains("encoder.layer.11.attention.self.query.weight"));
        assertFalse(attention.trains("encoder.layer.1.intermediate.dense.weight"));
        assertFalse(attention.trains("embeddings.word_embeddings.weight"));
        ParameterSelection noEmbeddings = ParameterSelection.except("embeddings.*");
        assertFalse(noEmbeddings.trains("embeddings.LayerNorm.weight"));
        assertTrue(noEmbeddings.trains("classifier.bias"));
        // Dots are literal, not "any character".
        assertFalse(ParameterSelection.only("classifier.weight").trains("classifierXweight"));
        assertTrue(ParameterSelection.ALL.trains("anything"));
    }

    @Test
    void teacherRequestsUniteAndSayWhetherTheyCanBeCached() {
        TeacherRequest r = TeacherRequest.logitsOnly().and(TeacherRequest.hiddenOf(Set.of(6, 3)))
                .and(TeacherRequest.clsOf(Set.of(2)));
        assertTrue(r.logits());
        assertEquals(Set.of(3, 6), r.hidden());
        assertEquals(Set.of(2), r.cls());
        assertTrue(r.cacheable());
        assertTrue(r.and(TeacherRequest.scoresOf(Set.of(4))).cacheable(), "attention scores can be cached");
        assertFalse(r.and(TeacherRequest.probsOf(Set.of(4))).cacheable(), "attention probabilities are not");
        assertFalse(r.and(TeacherRequest.maskedLmLogits()).cacheable(), "masked-LM logits depend on the masking");
        assertTrue(TeacherRequest.NONE.isEmpty());
        assertFalse(TeacherRequest.logitsOnly().needsStates());
        assertThrows(IllegalArgumentException.class, () -> TeacherRequest.probsOf(Set.of(0)));
    }
}
