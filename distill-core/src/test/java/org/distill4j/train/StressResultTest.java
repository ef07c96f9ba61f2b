package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the non-finite-gradient harness sorts the computations of an update into events. */
class StressResultTest {

    private static final List<String> NAMES = List.of("embeddings.weight", "layer.0.query.weight",
            "layer.0.value.weight", "classifier.weight");

    private static StressResult.Computation c(int repeat, float loss, double... squares) {
        return new StressResult.Computation(repeat, 7, Float.isFinite(loss), Map.of("loss", loss), squares);
    }

    @Test
    void identicalComputationsAreNoEvent() {
        StressResult r = StressResult.of(NAMES, List.of(List.of(c(1, 0.5f, 1, 2, 3, 4), c(2, 0.5f, 1, 2, 3, 4))), 1);
        assertEquals(List.of(), r.events());
        assertEquals(List.of(), r.differing());
        assertEquals(2, r.computed());
        assertTrue(r.summary().startsWith("0 non-finite and 0 differing of 2 update computations (1 updates x 2"),
                r.summary());
    }

    @Test
    void aComputationUnlikeTheMajorityIsNamedFromWhereItEntered() {
        // Repeat 2 differs in the embeddings and the query projection, by one ulp of 2.0 in the latter.
        double off = Math.nextUp(2.0);
        StressResult r = StressResult.of(NAMES, List.of(List.of(c(1, 0.5f, 1, 2, 3, 4), c(2, 0.5f, 1.5, off, 3, 4),
                c(3, 0.5f, 1, 2, 3, 4))), 1);
        assertEquals(List.of(), r.events());
        assertEquals(1, r.differing().size(), r.summary());
        assertEquals("repeat 2, update 7: differs from 2 of 3 computations in [layer.0.query.weight, "
                + "embeddings.weight]; largest relative change of a squared norm 0.500", r.differing().get(0));
    }

    @Test
    void lossesDifferingAloneAreReported() {
        StressResult r = StressResult.of(NAMES, List.of(List.of(c(1, 0.5f, 1, 2, 3, 4), c(2, 0.25f, 1, 2, 3, 4),
                c(3, 0.5f, 1, 2, 3, 4))), 1);
        assertEquals(List.of("repeat 2, update 7: differs from 2 of 3 computations in its losses only"),
                r.differing());
    }

    @Test
    void nonFiniteComputationsAreEventsNotDifferences() {
        StressResult r = StressResult.of(NAMES, List.of(List.of(c(1, 0.5f, 1, 2, 3, 4),
                c(2, 0.5f, Double.NaN, Double.POSITIVE_INFINITY, 3, 4), c(3, Float.NaN, 1, 2, 3, 4))), 1);
        assertEquals(List.of("repeat 2, update 7: non-finite gradients in [layer.0.query.weight, embeddings.weight]",
                "repeat 3, update 7: the loss is not finite"), r.events());
        assertEquals(List.of(), r.differing());
    }
}
