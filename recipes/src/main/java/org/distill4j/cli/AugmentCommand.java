package org.distill4j.cli;

import java.nio.file.Path;
import java.util.List;
import org.distill4j.augment.Augmentation;
import org.distill4j.glue.GlueTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** TinyBERT's data augmentation of a task's training set or of a text file. */
@Command(name = "augment", description = "Augment a GLUE task's training set as TinyBERT does (masked-LM and "
        + "word-embedding replacements), into a TSV of the task's layout that recipes take as stage data; or a text "
        + "file (--corpus), into a text file.")
final class AugmentCommand implements Runnable {

    @Option(names = "--task", description = "the GLUE task whose training set is augmented (CoLA, SST-2, MRPC, "
            + "STS-B, RTE, ...)")
    String task;

    @Option(names = "--corpus", paramLabel = "FILE", description = "instead of --task: a text file, one text per line "
            + "(e.g. ./distill glue corpus), augmented into a text file of each line followed by its copies")
    Path corpus;

    @Option(names = "--out", paramLabel = "FILE", description = "the augmented TSV (required unless --compare)")
    Path out;

    @Option(names = "--n", defaultValue = "0", description = "tries per text (default: the task's N, 30 for CoLA, "
            + "MRPC, RTE, STS-B; 20 for SST-2, QNLI and a --corpus; 10 for MNLI, QQP)")
    int n;

    @Option(names = "--k", defaultValue = "15", description = "candidates per word (default 15)")
    int k;

    @Option(names = "--p", defaultValue = "0.4", description = "probability of replacing a word (default 0.4)")
    double p;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the draws (default 42)")
    long seed;

    @Option(names = "--exact", description = "one masked word per masked-LM forward, as the reference does (slow)")
    boolean exact;

    @Option(names = "--spacing", defaultValue = "4", description = "fast mode: mask every SPACING-th candidate word "
            + "of a text together, in SPACING forwards per text (default 4)")
    int spacing;

    @Option(names = "--batch-size", defaultValue = "32", description = "masked-LM sequences per forward (default 32)")
    int batchSize;

    @Option(names = "--limit", defaultValue = "0", description = "augment the first N training rows only")
    int limit;

    @Option(names = "--model", defaultValue = "builtin:bert-base-uncased", description = "a model with a masked-LM "
            + "head sharing the students' vocabulary (default builtin:bert-base-uncased)")
    String model;

    @Option(names = "--cache-dir", defaultValue = "runs/augment-cache", description = "where finished and partial "
            + "outputs are kept, by a hash of their inputs (default runs/augment-cache)")
    Path cacheDir;

    @Option(names = "--no-neighbours", description = "keep words of several word pieces instead of replacing them "
            + "by neighbours in the model's embedding space (to measure what that space adds)")
    boolean noNeighbours;

    @Option(names = "--compare", split = ",", paramLabel = "SPACING", arity = "0..*", description = "instead of "
            + "writing: time the reference's one word per forward against these spacings (default: --spacing) on the "
            + "--limit rows, and report how many of its candidates each finds")
    int[] compare;

    @Mixin
    GlueDataOptions data;

    @Override
    public void run() {
        GlueTask t = task == null ? null : GlueTask.parse(task);
        if (spacing < 1) {
            throw new IllegalArgumentException("need --spacing >= 1 (--exact for one word per forward)");
        }
        Augmentation.Settings s = new Augmentation.Settings(t, t == null ? null : data.dir(), model, n, k, p, seed,
                exact ? 0 : spacing, batchSize, limit, Augmentation.CHUNK, !noNeighbours, data.skipBadRows, corpus);
        if (compare != null) {
            List<Augmentation.Comparison> all = Augmentation.compare(s, compare.length == 0 ? new int[] {spacing}
                    : compare);
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
                corpus != null ? "lines" : "training rows",
                r.cached() ? " (from the cache)" : String.format(", %.1f texts/s, %.0f s; candidate words: %,d of one "
                        + "piece, %,d longer", r.textsPerSecond(), r.seconds(), r.onePieceWords(), r.longerWords()));
    }
}
