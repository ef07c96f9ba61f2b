package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which commit a run's provenance names. */
class ProvenanceTest {

    @Test
    void theBuildCommitOfTheLauncherWinsOverTheCheckoutsHead() {
        String was = System.getProperty(Provenance.BUILD_COMMIT);
        try {
            // What the distill launcher passes for a frozen application built before the checkout moved on.
            System.setProperty(Provenance.BUILD_COMMIT, "a5e0ff5c0ffee00000000000000000000000000f-dirty\n");
            assertEquals("a5e0ff5c0ffee00000000000000000000000000f-dirty", Provenance.currentCommit());

            System.clearProperty(Provenance.BUILD_COMMIT);
            String head = Provenance.currentCommit();
            // Run from Maven inside the checkout: its HEAD (tests run in a git clone here and in CI).
            assertTrue(head.matches("[0-9a-f]{40}(-dirty)?"), head);
        } finally {
            if (was == null) {
                System.clearProperty(Provenance.BUILD_COMMIT);
            } else {
                System.setProperty(Provenance.BUILD_COMMIT, was);
            }
        }
    }
}
