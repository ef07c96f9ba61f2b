package org.distill4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.recipe.Recipe;
import org.distill4j.recipe.RecipeFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Checks a YAML recipe without running it. */
@Command(name = "validate", description = "Check a YAML recipe and print it with every default filled in.")
final class ValidateCommand implements Runnable {

    @Parameters(index = "0", paramLabel = "FILE", description = "the recipe")
    Path file;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a recipe value (repeatable)")
    List<String> overrides = new ArrayList<>();

    @Override
    public void run() {
        Recipe.Resolved r = RecipeFile.read(file, overrides);
        System.out.printf("%s: valid (%s on %s)%n", file, r.recipe().method(),
                r.task() != null ? r.task() : r.config().data().corpus());
        System.out.print(RecipeFile.write(r.config()));
    }
}
