package org.distill4j.cli;

import java.nio.file.Path;
import java.util.List;
import org.distill4j.augment.AugmentOptions;
import org.distill4j.augment.Augmentation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** TinyBERT's data augmentation of a task's training set or of a text file. */
@Command(name = "augment", description = "Augment a GLUE task's training set as TinyBERT does (masked-LM and "
        + "word-embedding replacements), into a TSV of the task's layout that recipes take as stage data; or a text "
        + "file (--corpus), into a text file.")
final class AugmentCommand implements Runnable {

    @Mixin
    AugmentOptions options;

    @Option(names = "--out", paramLabel = "FILE", description = "the augmented TSV or text file (required unless "
            + "--compare)")
    Path out;

    @Option(names = "--cache-dir", defaultValue = "runs/augment-cache", description = "where finished and partial "
            + "outputs are kept, by a hash of their inputs (default runs/augment-cache)")
    Path cacheDir;

    @Option(names = "--compare", split = ",", paramLabel = "SPACING", arity = "0..*", description = "instead of "
            + "writing: time the reference's one word per forward against these spacings (default: --spacing) on the "
            + "--limit rows, and report how many of its candidates each finds")
    int[] compare;

    @Mixin
    GlueDataOptions data;

    @Override
    public void run() {
        Augmentation.Settings s = options.settings(data::dir, Augmentation.CHUNK, data.skipBadRows);
        if (compare != null) {
            List<Augmentation.Comparison> all = Augmentation.compare(s,
                    compare.length == 0 ? new int[] {options.spacing()} : compare);
            Augmentation.Comparison first = all.get(0);
            System.out.printf("%d texts, %d one-piece candidate words%n", first.texts(), first.words());
            System.out.printf("| mode | forwards | texts/s | speed-up | candidate overlap |%n|---|---|---|---|---|%n");
            System.out.printf("| exact (one word per forward) | %d | %.2f | 1.00x | 100%% |%n", first.exactForwards(),
                    first.texts() / first.exactSeconds());
            for (Augmentation.Comparison c : all) {
                System.out.printf("| spacing %d | %d | %.2f | %.2fx | %.1f%% |%n", c.spacing(), c.fastForwards(),
                        c.texts() / c.fastSeconds(), c.speedUp(), 100 * c.overlap());
            }
            return;
        }
        if (out == null) {
            throw new IllegalArgumentException("give --out FILE (or --compare)");
        }
        Augmentation.Result r = Augmentation.run(s, out, cacheDir);
        System.out.printf("%s: %,d rows from %,d %s%s%n", r.file(), r.rows(), r.examples(),
                options.corpus() ? "lines" : "training rows",
                r.cached() ? " (from the cache)" : String.format(", %.1f texts/s, %.0f s; candidate words: %,d of one "
                        + "piece, %,d longer", r.textsPerSecond(), r.seconds(), r.onePieceWords(), r.longerWords()));
    }
}
