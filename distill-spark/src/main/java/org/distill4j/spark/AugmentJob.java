package org.distill4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.augment.Augmentation;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.Example;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.AtomicDirectory;
import org.distill4j.weights.Checkpoint;

/**
 * TinyBERT augmentation of a GLUE task's training set on Spark: the rows are cut into the chunks a
 * single-machine run ({@code ./distill augment}) makes, the chunks are spread over partitions, and
 * each partition augments its chunks with one masked-LM. A chunk's output depends only on the
 * settings, the chunk and the word list the driver computes once, so the merged file is byte for
 * byte the single-machine file, whatever the partitioning.
 *
 * <p>Output: {@code OUT.parts/} holds Spark's part files and its {@code _SUCCESS} marker; the
 * merged TSV, header first, is written to {@code OUT} only once the marker is there. A failed or
 * retried task leaves nothing behind: Spark's output committer publishes only finished attempts.
 */
public final class AugmentJob {

    /** The settings of {@link Augmentation.Settings} in a form Spark can ship to executors. */
    record Spec(String task, String glueDir, String model, int n, int k, double p, long seed, int spacing,
            int batchSize, int limit, int chunk, boolean neighbours, boolean skipBadRows, String corpus)
            implements Serializable {

        static Spec of(Augmentation.Settings s) {
            return new Spec(s.task() == null ? null : s.task().dirName(),
                    s.glueDir() == null ? null : s.glueDir().toString(), s.model(), s.n(),
                    s.k(), s.p(), s.seed(), s.spacing(), s.batchSize(), s.limit(), s.chunk(), s.neighbours(),
                    s.skipBadRows(), s.corpus() == null ? null : s.corpus().toString());
        }

        /** The settings again; executors never read the input itself (chunks carry their lines). */
        Augmentation.Settings settings() {
            return new Augmentation.Settings(task == null ? null : GlueTask.parse(task),
                    glueDir == null ? null : Path.of(glueDir), model, n,
                    k, p, seed, spacing, batchSize, limit, chunk, neighbours, skipBadRows,
                    corpus == null ? null : Path.of(corpus));
        }
    }

    /** What the job wrote: the merged file, its rows and the training rows augmented. */
    public record Result(Path file, long rows, int examples, int chunks, int partitions, double seconds) {}

    /** Test hook: the partition whose first attempt fails after its first chunk (-1: none). */
    static volatile int failFirstAttemptOf = -1;
    /** Test hook: how many attempts the hook above failed (in this JVM: local mode). */
    static final java.util.concurrent.atomic.AtomicInteger INJECTED = new java.util.concurrent.atomic.AtomicInteger();

    private AugmentJob() {}

    /** Augments {@code s}'s rows into {@code out} over {@code partitions} partitions (0: one per core). */
    public static Result run(JavaSparkContext sc, Augmentation.Settings s, Path out, int partitions) {
        long t0 = System.nanoTime();
        Dataset train = s.input();
        List<Example> rows = s.rows(train);
        List<String> raw;
        try {
            raw = Files.readAllLines(train.file(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + train.file() + ": " + e.getMessage(), e);
        }
        List<Augmentation.Chunk> chunks = new ArrayList<>();
        for (int c = 0; c * s.chunk() < rows.size(); c++) {
            chunks.add(Augmentation.Chunk.of(c, rows.subList(c * s.chunk(), Math.min(rows.size(), (c + 1) * s.chunk())),
                    raw));
        }
        // The neighbour search covers every text's words: computed once here, the same list everywhere.
        Checkpoint mlm = ExecutorModels.checkpoint(s.model());
        List<String> words;
        try (BertTokenizer tok = mlm.tokenizer(512)) {
            words = Augmentation.words(rows, tok);
        }
        int slices = Math.max(1, Math.min(chunks.size(), partitions > 0 ? partitions : sc.defaultParallelism()));
        Path parts = partsDir(out);
        AtomicDirectory.delete(parts);
        Spec spec = Spec.of(s);
        Broadcast<List<String>> shared = sc.broadcast(words);
        int failing = failFirstAttemptOf;
        int total = chunks.size(); // the closure must not capture the list itself: it would travel with every task
        // parallelize keeps the list's order in contiguous slices, and part files follow the
        // partitions: the parts, read in name order, are the chunks in order.
        sc.parallelize(chunks, slices).mapPartitions(it -> PartitionWork.map(it, () -> {
            Augmentation.Settings settings = spec.settings();
            return new Augmentation.Worker(settings, ExecutorModels.checkpoint(settings.model()), shared.value());
        }, (Augmentation.Worker worker, Augmentation.Chunk chunk) -> {
            TaskContext task = TaskContext.get();
            // Test hook: fail the partition's first attempt after its first chunk, as a lost task would.
            if (task.partitionId() == failing && task.attemptNumber() == 0 && chunk.index() > firstChunkOf(chunk, total,
                    slices)) {
                INJECTED.incrementAndGet();
                throw new IllegalStateException("injected failure of partition " + failing);
            }
            String text = worker.augment(chunk);
            return List.of(text.substring(0, text.length() - 1)); // the part file adds the line's end
        })).saveAsTextFile(parts.toUri().toString());
        long lines = merge(parts, s.layout().header() ? Augmentation.header(raw) : "", out);
        return new Result(out, lines, rows.size(), chunks.size(), slices, (System.nanoTime() - t0) / 1e9);
    }

    /** The first chunk of the partition holding {@code chunk}, as parallelize slices a list. */
    static int firstChunkOf(Augmentation.Chunk chunk, int chunks, int slices) {
        for (int i = 0; i < slices; i++) {
            int start = (int) ((long) i * chunks / slices);
            int end = (int) ((long) (i + 1) * chunks / slices);
            if (chunk.index() >= start && chunk.index() < end) {
                return start;
            }
        }
        throw new IllegalArgumentException("chunk " + chunk.index() + " is outside " + chunks);
    }

    /** Where the part files of {@code out} go. */
    static Path partsDir(Path out) {
        return out.resolveSibling(out.getFileName() + ".parts");
    }

    /** Writes the header and the part files, in order, to {@code out}; refuses parts without {@code _SUCCESS}. */
    static long merge(Path parts, String header, Path out) {
        if (!Files.isRegularFile(parts.resolve("_SUCCESS"))) {
            throw new DistillException(parts + " has no _SUCCESS marker: the job that wrote it did not finish; "
                    + "run it again");
        }
        try (Stream<Path> listing = Files.list(parts)) {
            List<Path> files = listing.filter(f -> f.getFileName().toString().startsWith("part-"))
                    .sorted(Comparator.comparing(f -> f.getFileName().toString())).toList();
            AtomicFile.write(out, tmp -> {
                Files.writeString(tmp, header, StandardCharsets.UTF_8);
                for (Path f : files) {
                    Files.write(tmp, Files.readAllBytes(f), StandardOpenOption.APPEND);
                }
            });
            try (Stream<String> l = Files.lines(out, StandardCharsets.UTF_8)) {
                return l.count();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("merging " + parts + " into " + out + ": " + e.getMessage(), e);
        }
    }
}
