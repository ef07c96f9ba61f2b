package org.distill4j.recipe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.train.AtomicDirectory;
import org.distill4j.train.Trainer;

/**
 * Guards a run's output directory, so that a fresh run never replaces another run's results: a
 * directory that already holds a run (its {@code recipe.yaml}) is refused unless the caller resumes
 * that same recipe or asks to overwrite it.
 */
public final class RunDirectory {

    /** What the caller asked for. */
    public enum Mode {
        FRESH, RESUME, OVERWRITE;

        /** The mode that {@code --resume} and {@code --overwrite} ask for; both at once is refused. */
        public static Mode of(boolean resume, boolean overwrite, Path out) {
            if (resume && overwrite) {
                throw new DistillException("--resume and --overwrite exclude each other: resume continues the run in "
                        + out + ", overwrite replaces it");
            }
            return overwrite ? OVERWRITE : resume ? RESUME : FRESH;
        }
    }

    /** What {@code ./distill finetune} writes into its {@code --out} directory. */
    private static final List<String> FINE_TUNE_RECORDS =
            List.of("run.txt", "provenance.json", "metrics.jsonl", "best", "checkpoint", "adapter");

    private RunDirectory() {}

    /**
     * Checks {@code out} for a run of the recipe with {@code hash}, and empties it for OVERWRITE.
     *
     * @throws DistillException naming the directory and the way out (--resume or --overwrite)
     */
    static void claim(Path out, String name, String hash, Mode mode) {
        if (!Files.exists(out) || isEmpty(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw new DistillException("output.dir " + out + " is a file, not a directory; choose another output.dir");
        }
        Path recipe = out.resolve("recipe.yaml");
        if (mode == Mode.OVERWRITE) {
            if (!Files.isRegularFile(recipe)) {
                throw new DistillException(out + " is not empty and holds no run (no recipe.yaml): not overwriting a "
                        + "directory distill4j did not write; choose another output.dir");
            }
            AtomicDirectory.delete(out);
            return;
        }
        if (!Files.isRegularFile(recipe)) {
            throw new DistillException(out + " is not empty and holds no run (no recipe.yaml); choose another "
                    + "output.dir (--set output.dir=runs/" + name + "-2)");
        }
        boolean same = hash.equals(recordedHash(out, recipe));
        boolean finished = Files.isRegularFile(out.resolve("report.json"));
        if (mode == Mode.RESUME) {
            if (!same && adoptMoved(out, recipe, hash)) {
                return;
            }
            if (!same) {
                throw new DistillException(out + " holds a run of a different recipe (" + describe(recipe)
                        + "); --resume continues only the same recipe. Use another output.dir, or --overwrite to "
                        + "replace that run");
            }
            return;
        }
        String what = !same ? "a run of a different recipe (" + describe(recipe) + ")"
                : finished ? "this recipe's finished run" : "this recipe's unfinished run";
        throw new DistillException(out + " already holds " + what + "; nothing was written. "
                + (same && !finished ? "Continue it with --resume, " : "")
                + "replace it with --overwrite, or choose another output.dir (--set output.dir=runs/" + name + "-2)");
    }

    /**
     * The same guard for {@code ./distill finetune --out DIR}, which keeps no recipe: a fresh
     * fine-tuning is refused where one already wrote its records, so that a finished teacher is not
     * replaced by a mistyped {@code --out}. RESUME leaves the choice to the checkpoint (its identity
     * must match); OVERWRITE removes the earlier run's records and nothing else (a {@code time.txt} or
     * log beside them stays).
     *
     * @throws DistillException naming the directory, what it holds and the way out
     */
    public static void claimFineTune(Path out, Mode mode) {
        if (mode == Mode.RESUME || !Files.exists(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw new DistillException("--out " + out + " is a file, not a directory; choose another --out");
        }
        Path recipe = out.resolve("recipe.yaml");
        if (Files.isRegularFile(recipe)) {
            throw new DistillException(out + " holds a recipe's run (" + describe(recipe) + "); nothing was written. "
                    + "A fine-tuning does not replace it: choose another --out");
        }
        boolean finished = Trainer.finished(out); // first puts back a checkpoint that a crash left half-swapped
        List<String> present = FINE_TUNE_RECORDS.stream().filter(n -> Files.exists(out.resolve(n))).toList();
        if (present.isEmpty()) {
            return;
        }
        if (mode == Mode.OVERWRITE) {
            present.forEach(n -> AtomicDirectory.delete(out.resolve(n)));
            return;
        }
        throw new DistillException(out + " already holds " + (finished ? "a finished" : "an unfinished")
                + " fine-tuning (" + String.join(", ", present) + "); nothing was written. "
                + (finished ? "" : "Continue it with --resume, ")
                + "replace it with --overwrite, or choose another --out");
    }

    /**
     * The hash of the recipe that made the run: provenance.json's, as the run computed it; else that of
     * its recipe.yaml read back; null when neither can be had (a recipe this build no longer reads).
     */
    private static String recordedHash(Path out, Path recipe) {
        Path provenance = out.resolve("provenance.json");
        if (Files.isRegularFile(provenance)) {
            try {
                String h = Json.MAPPER.readTree(provenance.toFile()).path("config_hash").asText("");
                if (!h.isEmpty()) {
                    return h;
                }
            } catch (IOException e) {
                // a damaged provenance.json: fall back to the recipe itself
            }
        }
        try {
            return RecipeFile.hash(RecipeFile.read(recipe, List.of()).config());
        } catch (DistillException e) {
            return null;
        }
    }

    /**
     * A run moved or copied from another directory (a fuller disk, another machine): its recipe
     * differs from this one in {@code output.dir} alone. Its records are rewritten to name where it
     * is now (the checkpoint's identity first and recipe.yaml last, so an interrupted rewrite is
     * finished by the next resume) and it is resumed; anything else is not this recipe's run.
     */
    private static boolean adoptMoved(Path out, Path recipe, String hash) {
        Recipe.Resolved here;
        String was;
        try {
            was = RecipeFile.read(recipe, List.of()).config().output().dir();
            here = RecipeFile.read(recipe, List.of("output.dir=" + out));
        } catch (DistillException e) {
            return false;
        }
        if (!RecipeFile.hash(here.config()).equals(hash)) {
            return false;
        }
        Path state = out.resolve("checkpoint").resolve("state.json");
        try {
            if (Files.isRegularFile(state)) {
                ObjectNode n = (ObjectNode) Json.MAPPER.readTree(state.toFile());
                n.put("identity", hash);
                replaceFile(state, Json.PRETTY.writeValueAsBytes(n));
            }
            Path provenance = out.resolve("provenance.json");
            if (Files.isRegularFile(provenance)) {
                ObjectNode n = (ObjectNode) Json.MAPPER.readTree(provenance.toFile());
                n.put("config_hash", hash);
                replaceFile(provenance, Json.PRETTY.writeValueAsBytes(n));
            }
            replaceFile(recipe, RecipeFile.write(here.config()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException | ClassCastException e) {
            throw new DistillException("Cannot update the records of the run moved to " + out + ": " + e.getMessage(), e);
        }
        System.err.printf("%s holds this recipe's run made in %s: its records now name %s%n", out, was, out);
        return true;
    }

    private static void replaceFile(Path file, byte[] bytes) throws IOException {
        AtomicFile.write(file, tmp -> Files.write(tmp, bytes));
    }

    private static String describe(Path recipe) {
        try (Stream<String> lines = Files.lines(recipe)) {
            return lines.filter(l -> l.startsWith("name:")).findFirst().map(String::strip).orElse("unnamed")
                    + ", " + recipe;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isEmpty(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new DistillException("Cannot list " + dir + ": " + e.getMessage(), e);
        }
    }
}
