package org.distill4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.recipe.Recipe;
import org.distill4j.recipe.RecipeFile;
import org.distill4j.recipe.RecipeRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Runs a YAML recipe. */
@Command(name = "run", description = "Run a YAML recipe (configs/*.yaml): train a student, report it beside its "
        + "teacher.")
final class RunCommand implements Runnable {

    @Parameters(index = "0", paramLabel = "FILE", description = "the recipe")
    Path file;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a recipe value, e.g. train.epochs=1 "
            + "(repeatable)")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--resume", description = "continue from the run's checkpoint")
    boolean resume;

    @Option(names = "--overwrite", description = "replace the run already in the output directory (without it, a "
            + "directory holding another run or this recipe's finished run is refused)")
    boolean overwrite;

    @Option(names = "--replay", paramLabel = "DIR", description = "instead of training, recompute an update the run "
            + "skipped on non-finite values and kept (runs/NAME/skipped/step-N; FILE: that run's recipe.yaml) and say "
            + "whether it is non-finite again")
    Path replay;

    @Option(names = "--stress", paramLabel = "UPDATES,REPEATS", split = ",", description = "instead of training, "
            + "compute the run's next UPDATES updates REPEATS times from its checkpoint, applying none, and count "
            + "non-finite gradients (FILE: that run's recipe.yaml; fp32)")
    List<Integer> stress;

    @Option(names = "--glue-dir", paramLabel = "DIR", description = "GLUE data (default data.glue_dir, $GLUE_DIR, then "
            + "../shared/data/glue)")
    Path glueDir;

    @Option(names = "--device", paramLabel = "cpu|gpu|auto", description = "where to train, overriding the recipe's "
            + "device (same as --set device=...)")
    String device;

    @Option(names = "--precision", paramLabel = "fp32|fp16", description = "overrides train.precision (same as "
            + "--set train.precision=...)")
    String precision;

    @Override
    public void run() {
        List<String> all = new ArrayList<>(overrides);
        if (device != null) {
            all.add("device=" + device);
        }
        if (precision != null) {
            all.add("train.precision=" + precision);
        }
        Recipe.Resolved r = RecipeFile.read(file, all);
        if (replay != null) {
            System.out.println(RecipeRunner.replay(r, glueDir, replay).summary());
            return;
        }
        if (stress != null) {
            if (stress.size() != 2) {
                throw new DistillException("--stress takes UPDATES,REPEATS (e.g. --stress 20,10), got " + stress);
            }
            System.out.println(RecipeRunner.stress(r, glueDir, stress.get(0), stress.get(1)).summary());
            return;
        }
        String finished = resume && !overwrite ? RecipeRunner.finishedReport(r) : null;
        if (finished != null) {
            System.err.printf("%s: finished earlier; nothing was run or rewritten. Its report:%n", r.config().name());
            System.out.print(finished);
        } else {
            RecipeRunner.run(r, glueDir, resume, overwrite);
        }
        System.out.printf("run directory: %s%n", Path.of(r.config().output().dir()));
    }
}
