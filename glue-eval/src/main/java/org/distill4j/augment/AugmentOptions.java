package org.distill4j.augment;

import java.nio.file.Path;
import org.distill4j.glue.GlueTask;
import picocli.CommandLine.Option;

/**
 * The options of TinyBERT augmentation that {@code ./distill augment} and {@code ./distill spark
 * augment} share (a picocli mixin), so that both read the same flags into the same
 * {@link Augmentation.Settings}.
 */
public final class AugmentOptions {

    @Option(names = "--task", description = "the GLUE task whose training set is augmented (CoLA, SST-2, MRPC, "
            + "STS-B, RTE, ...)")
    String task;

    @Option(names = "--corpus", paramLabel = "FILE", description = "instead of --task: a text file, one text "
            + "(or pair A<TAB>B) per line (e.g. ./distill glue corpus), augmented into a text file of each line "
            + "followed by its copies")
    Path corpus;

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

    @Option(names = "--limit", defaultValue = "0", description = "augment the first N rows only")
    int limit;

    @Option(names = "--model", defaultValue = "builtin:bert-base-uncased", description = "a model with a masked-LM "
            + "head sharing the students' vocabulary, readable wherever the work runs (default "
            + "builtin:bert-base-uncased)")
    String model;

    @Option(names = "--no-neighbours", description = "keep words of several word pieces instead of replacing them "
            + "by neighbours in the model's embedding space (to measure what that space adds)")
    boolean noNeighbours;

    /**
     * The settings the flags give.
     *
     * @param glueDir the GLUE directory, read only with --task (may be null with --corpus)
     * @param chunk rows per chunk
     */
    public Augmentation.Settings settings(java.util.function.Supplier<Path> glueDir, int chunk, boolean skipBadRows) {
        if (spacing < 1) {
            throw new IllegalArgumentException("need --spacing >= 1 (--exact for one word per forward)");
        }
        GlueTask t = task == null ? null : GlueTask.parse(task);
        return new Augmentation.Settings(t, t == null ? null : glueDir.get(), model, n, k, p, seed, exact ? 0 : spacing,
                batchSize, limit, chunk, !noNeighbours, skipBadRows, corpus);
    }

    /** The --spacing given (the default of --compare). */
    public int spacing() {
        return spacing;
    }

    /** Whether --corpus was given. */
    public boolean corpus() {
        return corpus != null;
    }
}
