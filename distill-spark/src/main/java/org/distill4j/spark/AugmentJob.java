package org.distill4j.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.augment.Augmentation;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.Example;
import org.distill4j.glue.GlueTask;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.AtomicDirectory;

/**
 * TinyBERT augmentation of a GLUE task's training set or a text corpus on Spark: the rows are cut
 * into the chunks a single-machine run ({@code ./distill augment}) makes, the chunks are spread over
 * partitions in order, and each partition augments its chunks with one masked-LM. A chunk's output
 * depends only on the settings, the chunk and the word list (the sorted words of every row,
 * gathered once by the executors), so the merged file is byte for byte the single-machine file,
 * whatever the partitioning. A corpus is read by the executors: the driver never holds it, nor
 * loads the masked-LM.
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
        Spec spec = Spec.of(s);
        JavaPairRDD<Long, Row> rows;
        String header;
        long count;
        if (s.corpus() != null) {
            // A corpus may be far larger than the driver's memory: executors read it, and the
            // driver sees only its size and its vocabulary.
            rows = corpusRows(sc, s.corpus(), s.limit());
            header = "";
            count = rows.count();
            if (count == 0) {
                throw new DistillException("--corpus " + s.corpus() + " has no text: one text per line");
            }
        } else {
            Dataset train = s.input();
            List<String> raw;
            try {
                raw = Files.readAllLines(train.file(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + train.file() + ": " + e.getMessage(), e);
            }
            // Keyed by position, as the single-machine run cuts its chunks: a task's own index
            // column need not count from 0, nor without gaps.
            List<Example> selected = s.rows(train);
            List<scala.Tuple2<Long, Row>> list = new ArrayList<>();
            for (int i = 0; i < selected.size(); i++) {
                Example e = selected.get(i);
                String line = Augmentation.withoutByteOrderMark(e.line(), raw.get(e.line() - 1));
                list.add(new scala.Tuple2<>((long) i, new Row(e, line)));
            }
            rows = sc.parallelizePairs(list, Math.max(1, partitions > 0 ? partitions : sc.defaultParallelism()));
            header = s.layout().header() ? Augmentation.header(raw) : "";
            count = list.size();
        }
        int chunkSize = s.chunk();
        int total = (int) ((count + chunkSize - 1) / chunkSize);
        int slices = Math.max(1, Math.min(total, partitions > 0 ? partitions : sc.defaultParallelism()));
        // The neighbour search covers every text's words, in one order everywhere (sorted).
        List<String> words = rows.values().mapPartitions(it -> {
            Set<String> found = new HashSet<>();
            try (BertTokenizer tok = ExecutorModels.checkpoint(spec.model()).tokenizer(512)) {
                it.forEachRemaining(r -> found.addAll(Augmentation.words(List.of(r.example()), tok)));
            }
            return found.iterator();
        }).distinct().collect();
        words = words.stream().sorted().toList();
        Path parts = partsDir(out);
        AtomicDirectory.delete(parts);
        Broadcast<List<String>> shared = sc.broadcast(words);
        int failing = failFirstAttemptOf;
        // Whole chunks, in order: each partition gets a contiguous run of chunks, its rows sorted,
        // so the part files, read in name order, are the chunks in order.
        rows.repartitionAndSortWithinPartitions(new ChunkPartitioner(chunkSize, total, slices))
                .mapPartitions(it -> PartitionWork.map(chunks(it, chunkSize), () -> {
                    Augmentation.Settings settings = spec.settings();
                    return new Augmentation.Worker(settings, ExecutorModels.checkpoint(settings.model()),
                            shared.value());
                }, (Augmentation.Worker worker, Augmentation.Chunk chunk) -> {
                    TaskContext task = TaskContext.get();
                    // Test hook: fail the partition's first attempt after its first chunk, as a lost task would.
                    if (task.partitionId() == failing && task.attemptNumber() == 0
                            && chunk.index() > firstChunkOf(chunk, total, slices)) {
                        INJECTED.incrementAndGet();
                        throw new IllegalStateException("injected failure of partition " + failing);
                    }
                    String text = worker.augment(chunk);
                    return List.of(text.substring(0, text.length() - 1)); // the part file adds the line's end
                })).saveAsTextFile(parts.toUri().toString());
        long lines = merge(parts, header, out);
        return new Result(out, lines, (int) count, total, slices, (System.nanoTime() - t0) / 1e9);
    }

    /** A row to augment with its line as the input file has it (BOM stripped), keyed by its position. */
    record Row(Example example, String line) implements Serializable {}

    /**
     * The non-blank lines of {@code corpus}, read by the executors, keyed by their number among
     * the non-blank lines, as {@link Augmentation.Settings#input} numbers them; the first
     * {@code limit} (0: all).
     */
    static JavaPairRDD<Long, Row> corpusRows(JavaSparkContext sc, Path corpus, int limit) {
        if (!Files.isRegularFile(corpus)) {
            throw new DistillException("--corpus " + corpus + " is not a file (one text per line)");
        }
        // (text, line number), blank lines dropped, then numbered among the rest.
        JavaPairRDD<Long, Row> rows = sc.textFile(corpus.toUri().toString()).zipWithIndex().mapToPair(t -> {
            int line = (int) (t._2() + 1);
            return new scala.Tuple2<>(Augmentation.withoutByteOrderMark(line, t._1()), line);
        }).filter(t -> !t._1().isBlank()).zipWithIndex().mapToPair(t -> {
            long index = t._2();
            String text = t._1()._1();
            Example row = Augmentation.corpusRow((int) index, text, t._1()._2());
            return new scala.Tuple2<>(index, new Row(row, text));
        });
        return limit > 0 ? rows.filter(t -> t._1() < limit) : rows;
    }

    /** Rows sorted by number, grouped into their chunks of {@code size} rows. */
    static Iterator<Augmentation.Chunk> chunks(Iterator<scala.Tuple2<Long, Row>> sorted, int size) {
        return new Iterator<>() {
            private scala.Tuple2<Long, Row> next = sorted.hasNext() ? sorted.next() : null;

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public Augmentation.Chunk next() {
                if (next == null) {
                    throw new NoSuchElementException();
                }
                long chunk = next._1() / size;
                List<Example> examples = new ArrayList<>();
                List<String> lines = new ArrayList<>();
                while (next != null && next._1() / size == chunk) {
                    examples.add(next._2().example());
                    lines.add(next._2().line());
                    next = sorted.hasNext() ? sorted.next() : null;
                }
                return new Augmentation.Chunk((int) chunk, List.copyOf(examples), List.copyOf(lines));
            }
        };
    }

    /**
     * Sends row number r to the partition of its chunk, r / size, slicing the chunks into
     * contiguous runs as {@code parallelize} slices a list.
     */
    static final class ChunkPartitioner extends Partitioner {
        private final int size;
        private final int chunks;
        private final int slices;

        ChunkPartitioner(int size, int chunks, int slices) {
            this.size = size;
            this.chunks = chunks;
            this.slices = slices;
        }

        @Override
        public int numPartitions() {
            return slices;
        }

        @Override
        public int getPartition(Object key) {
            return slice((Long) key / size, chunks, slices);
        }

        /** The slice i whose run [i C / S, (i + 1) C / S) of C chunks in S slices holds {@code chunk}. */
        static int slice(long chunk, int chunks, int slices) {
            return (int) ((chunk * slices + slices - 1) / chunks);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ChunkPartitioner p && p.size == size && p.chunks == chunks && p.slices == slices;
        }

        @Override
        public int hashCode() {
            return Objects.hash(size, chunks, slices);
        }
    }

    /** The first chunk of the partition holding {@code chunk}. */
    static int firstChunkOf(Augmentation.Chunk chunk, int chunks, int slices) {
        return (int) ((long) ChunkPartitioner.slice(chunk.index(), chunks, slices) * chunks / slices);
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
                try (OutputStream o = Files.newOutputStream(tmp, StandardOpenOption.APPEND)) {
                    for (Path f : files) {
                        Files.copy(f, o); // streamed: a part may be larger than the heap
                    }
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
