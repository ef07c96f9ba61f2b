package org.distill4j.recipe;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.DistillException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fresh run never replaces another run's results; --resume and --overwrite are the ways in. */
class RunDirectoryTest {

    @TempDir
    Path tmp;

    private Recipe.Resolved quickstart(String... overrides) {
        Path file = Path.of(System.getProperty("project.root", "..")).resolve("configs/quickstart.yaml");
        List<String> all = new java.util.ArrayList<>(List.of(overrides));
        all.add("output.dir=" + tmp.resolve("run"));
        return RecipeFile.read(file, all);
    }

    private static String hash(Recipe.Resolved r) {
        return RecipeFile.hash(r.config());
    }

    private Path existingRun(Recipe.Resolved r) throws Exception {
        Path out = tmp.resolve("run");
        Files.createDirectories(out.resolve("best"));
        Files.writeString(out.resolve("recipe.yaml"), RecipeFile.write(r.config()));
        Files.writeString(out.resolve("metrics.jsonl"), "{}\n");
        return out;
    }

    @Test
    void aFreshRunIsRefusedWhereAnyRunIsAndResumeTakesOnlyTheSameRecipe() throws Exception {
        Recipe.Resolved r = quickstart();
        Path out = existingRun(r);
        DistillException unfinished = assertThrows(DistillException.class,
                () -> RunDirectory.claim(out, "quickstart", hash(r), RunDirectory.Mode.FRESH));
        assertTrue(unfinished.getMessage().contains("this recipe's unfinished run")
                && unfinished.getMessage().contains("--resume") && unfinished.getMessage().contains(out.toString()),
                unfinished.getMessage());
        assertDoesNotThrow(() -> RunDirectory.claim(out, "quickstart", hash(r), RunDirectory.Mode.RESUME));

        Files.writeString(out.resolve("report.json"), "{}");
        DistillException finished = assertThrows(DistillException.class,
                () -> RunDirectory.claim(out, "quickstart", hash(r), RunDirectory.Mode.FRESH));
        assertTrue(finished.getMessage().contains("finished run") && finished.getMessage().contains("--overwrite"),
                finished.getMessage());

        // The case: another name and a smaller slice, into the same directory.
        Recipe.Resolved other = quickstart("name=other", "data.train_limit=1280");
        for (RunDirectory.Mode mode : new RunDirectory.Mode[] {RunDirectory.Mode.FRESH, RunDirectory.Mode.RESUME}) {
            DistillException e = assertThrows(DistillException.class,
                    () -> RunDirectory.claim(out, "other", hash(other), mode));
            assertTrue(e.getMessage().contains("a different recipe (name: quickstart"), e.getMessage());
        }
        assertTrue(Files.isRegularFile(out.resolve("metrics.jsonl")), "refusals leave the run alone");

        RunDirectory.claim(out, "other", hash(other), RunDirectory.Mode.OVERWRITE);
        assertFalse(Files.exists(out), "--overwrite clears the old run");
    }

    @Test
    void aStagedRunsRecipeReadsBackToItsOwnHashAndProvenanceDecidesFirst() throws Exception {
        Path file = Path.of(System.getProperty("project.root", "..")).resolve("configs/tinybert/bge-small/rte-tinybert4.yaml");
        Recipe.Resolved r = RecipeFile.read(file, List.of("output.dir=" + tmp.resolve("run")));
        Path out = existingRun(r);
        // What a resume compares when provenance.json is missing: the resolved recipe read back.
        Recipe.Resolved back = RecipeFile.read(out.resolve("recipe.yaml"), List.of());
        assertEquals(hash(r), hash(back));
        assertDoesNotThrow(() -> RunDirectory.claim(out, r.config().name(), hash(r), RunDirectory.Mode.RESUME));
        // provenance.json's hash is what the run computed, and it is asked first.
        Files.writeString(out.resolve("provenance.json"), "{\"config_hash\": \"" + hash(r) + "\"}");
        Files.writeString(out.resolve("recipe.yaml"), "not: [a recipe");
        assertDoesNotThrow(() -> RunDirectory.claim(out, r.config().name(), hash(r), RunDirectory.Mode.RESUME));
        assertThrows(DistillException.class, () -> RunDirectory.claim(out, "x", "another", RunDirectory.Mode.RESUME));
    }

    @Test
    void aDirectoryThatHoldsNoRunIsNeverClearedAndAnEmptyOneIsFine() throws Exception {
        Recipe.Resolved r = quickstart();
        Path out = tmp.resolve("run");
        Files.createDirectories(out);
        assertDoesNotThrow(() -> RunDirectory.claim(out, "quickstart", hash(r), RunDirectory.Mode.FRESH));
        Files.writeString(out.resolve("notes.txt"), "mine");
        for (RunDirectory.Mode mode : RunDirectory.Mode.values()) {
            DistillException e = assertThrows(DistillException.class,
                    () -> RunDirectory.claim(out, "quickstart", hash(r), mode));
            assertTrue(e.getMessage().contains("holds no run"), e.getMessage());
        }
        assertTrue(Files.isRegularFile(out.resolve("notes.txt")));
    }

    /** A run moved to another directory (a fuller disk, another machine) resumes there, and no other recipe does. */
    @Test
    void aMovedRunResumesWhereItIsNowAndItsRecordsNameIt() throws Exception {
        Recipe.Resolved r = quickstart();
        Path out = existingRun(r);
        Files.writeString(out.resolve("provenance.json"), "{\"config_hash\": \"" + hash(r) + "\"}");
        Files.createDirectories(out.resolve("checkpoint"));
        Files.writeString(out.resolve("checkpoint/state.json"), "{\"identity\": \"" + hash(r) + "\", \"step\": 7}");
        Path moved = tmp.resolve("elsewhere/run");
        Files.createDirectories(moved.getParent());
        Files.move(out, moved);
        Path file = Path.of(System.getProperty("project.root", "..")).resolve("configs/quickstart.yaml");
        Recipe.Resolved there = RecipeFile.read(file, List.of("output.dir=" + moved));
        // Another recipe is still refused there, and the refusal changes nothing.
        Recipe.Resolved other = RecipeFile.read(file, List.of("output.dir=" + moved, "train.epochs=3"));
        assertThrows(DistillException.class, () -> RunDirectory.claim(moved, "quickstart", hash(other),
                RunDirectory.Mode.RESUME));
        assertTrue(Files.readString(moved.resolve("recipe.yaml")).contains(out.toString()));

        assertDoesNotThrow(() -> RunDirectory.claim(moved, "quickstart", hash(there), RunDirectory.Mode.RESUME));
        var state = org.distill4j.Json.MAPPER.readTree(moved.resolve("checkpoint/state.json").toFile());
        assertEquals(hash(there), state.get("identity").asText());
        assertEquals(7, state.get("step").asInt());
        assertEquals(hash(there), org.distill4j.Json.MAPPER.readTree(moved.resolve("provenance.json").toFile())
                .get("config_hash").asText());
        assertEquals(hash(there), hash(RecipeFile.read(moved.resolve("recipe.yaml"), List.of())));
        // From then on it is simply this recipe's run.
        assertDoesNotThrow(() -> RunDirectory.claim(moved, "quickstart", hash(there), RunDirectory.Mode.RESUME));
    }

    @Test
    void aFineTuningIsRefusedWhereOneRanAndOverwriteRemovesOnlyItsRecords() throws Exception {
        Path out = tmp.resolve("ft");
        Files.createDirectories(out);
        Files.writeString(out.resolve("time.txt"), "peak memory of the script's run\n");
        assertDoesNotThrow(() -> RunDirectory.claimFineTune(out, RunDirectory.Mode.FRESH), "no run there yet");

        Files.createDirectories(out.resolve("best"));
        Files.writeString(out.resolve("run.txt"), "FineTuneConfig[...]\n");
        Files.writeString(out.resolve("metrics.jsonl"), "{}\n");
        DistillException unfinished = assertThrows(DistillException.class,
                () -> RunDirectory.claimFineTune(out, RunDirectory.Mode.FRESH));
        assertTrue(unfinished.getMessage().startsWith(out + " already holds an unfinished fine-tuning (run.txt, "
                + "metrics.jsonl, best)") && unfinished.getMessage().contains("Continue it with --resume"),
                unfinished.getMessage());
        assertDoesNotThrow(() -> RunDirectory.claimFineTune(out, RunDirectory.Mode.RESUME));
        DistillException both = assertThrows(DistillException.class, () -> RunDirectory.Mode.of(true, true, out));
        assertTrue(both.getMessage().startsWith("--resume and --overwrite exclude each other"), both.getMessage());

        RunDirectory.claimFineTune(out, RunDirectory.Mode.OVERWRITE);
        assertFalse(Files.exists(out.resolve("best")) || Files.exists(out.resolve("run.txt"))
                || Files.exists(out.resolve("metrics.jsonl")));
        assertTrue(Files.isRegularFile(out.resolve("time.txt")), "a file the run did not write stays");

        Files.writeString(out.resolve("recipe.yaml"), "name: distilled\nmethod: distilbert\n");
        DistillException recipe = assertThrows(DistillException.class,
                () -> RunDirectory.claimFineTune(out, RunDirectory.Mode.OVERWRITE));
        assertTrue(recipe.getMessage().contains("holds a recipe's run (name: distilled"), recipe.getMessage());
    }
}
