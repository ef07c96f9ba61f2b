package org.distill4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.distill4j.DistillException;
import org.distill4j.augment.Augmentation;
import org.distill4j.glue.GlueTask;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spark augmentation in local mode on real MRPC rows, against the single-machine command's file. */
class AugmentJobTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    // 6 rows in chunks of 2: three chunks, so two partitions get unequal shares.
    static final Augmentation.Settings SETTINGS = new Augmentation.Settings(GlueTask.MRPC, GLUE,
            "builtin:bert-base-uncased", 6, 15, 0.4, 42, 4, 32, 6, 2, true, false);

    @TempDir
    static Path tmp;
    static JavaSparkContext sc;
    static byte[] single;

    @BeforeAll
    static void start() throws Exception {
        Path file = tmp.resolve("single.tsv");
        Augmentation.run(SETTINGS, file, tmp.resolve("cache"));
        single = Files.readAllBytes(file);
        // local[2, 2]: two task threads, and a failed task is tried a second time.
        sc = LocalSpark.start("local[2,2]", "AugmentJobTest");
    }

    @AfterAll
    static void stop() {
        if (sc != null) {
            sc.close();
        }
    }

    @Test
    void sparkOutputIsTheSingleMachineFile() throws Exception {
        Path out = tmp.resolve("spark.tsv");
        AugmentJob.Result r = AugmentJob.run(sc, SETTINGS, out, 2);
        assertEquals(3, r.chunks());
        assertEquals(2, r.partitions());
        assertArrayEquals(single, Files.readAllBytes(out), "the merged file differs from ./distill augment's");
        assertTrue(r.rows() > 6 * 2, "few copies: " + r.rows());
        // Three partitions, one chunk each: still the same file.
        Path three = tmp.resolve("spark-3.tsv");
        AugmentJob.run(sc, SETTINGS, three, 3);
        assertArrayEquals(single, Files.readAllBytes(three));
    }

    /** A text file rather than a task, read by the executors: the file ./distill augment --corpus writes. */
    @Test
    void aCorpusIsAugmentedAsOnOneMachine() throws Exception {
        // STS-B's first sentences: short, as each masked-LM forward of BERT-base runs over the whole text.
        List<String> lines = new ArrayList<>(Files.readAllLines(GLUE.resolve("STS-B/train.tsv"), StandardCharsets.UTF_8)
                .subList(1, 11).stream().map(l -> l.split("\t")[7]).toList());
        // A byte-order mark and blank lines, which both runs skip: the texts' numbers and line
        // numbers (which seed the copies) must still agree.
        lines.set(0, "\uFEFF" + lines.get(0));
        lines.add(3, "");
        lines.add(7, "  \t ");
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, lines, StandardCharsets.UTF_8);
        Augmentation.Settings s = new Augmentation.Settings(null, null, "builtin:bert-base-uncased", 4, 15, 0.4, 42, 4,
                32, 0, 4, true, false, corpus);
        Path one = tmp.resolve("corpus-single.txt");
        Augmentation.run(s, one, tmp.resolve("corpus-cache"));
        Path out = tmp.resolve("corpus-spark.txt");
        AugmentJob.Result r = AugmentJob.run(sc, s, out, 2);
        assertEquals(3, r.chunks());
        assertTrue(r.rows() > 10 * 2, "few copies: " + r.rows());
        assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(out));
    }

    /** Chunks follow the rows' positions, not a task's index column, which may start anywhere. */
    @Test
    void rowsWhoseIndexColumnIsNotTheirPositionAreChunkedAsOnOneMachine() throws Exception {
        // STS-B: an index column first, and short pairs (each masked-LM forward runs over a whole text).
        List<String> stsb = Files.readAllLines(GLUE.resolve("STS-B/train.tsv"), StandardCharsets.UTF_8).subList(0, 9);
        List<String> shifted = new ArrayList<>(List.of(stsb.get(0)));
        for (int i = 1; i < stsb.size(); i++) {
            String[] f = stsb.get(i).split("\t", 2);
            shifted.add((1000 + 7 * i) + "\t" + f[1]);
        }
        Path glue = tmp.resolve("glue-shifted");
        Files.createDirectories(glue.resolve("STS-B"));
        Files.write(glue.resolve("STS-B/train.tsv"), shifted, StandardCharsets.UTF_8);
        Augmentation.Settings s = new Augmentation.Settings(GlueTask.STSB, glue, "builtin:bert-base-uncased", 2, 15, 0.4,
                42, 4, 32, 0, 4, true, false);
        Path one = tmp.resolve("shifted-single.tsv");
        Augmentation.run(s, one, tmp.resolve("shifted-cache"));
        Path out = tmp.resolve("shifted-spark.tsv");
        AugmentJob.Result r = AugmentJob.run(sc, s, out, 2);
        assertEquals(2, r.chunks());
        assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(out));
    }

    @Test
    void aTaskThatFailsMidwayIsRetriedAndTheOutputIsComplete() throws Exception {
        Path out = tmp.resolve("retried.tsv");
        AugmentJob.failFirstAttemptOf = 1;
        int before = AugmentJob.INJECTED.get();
        try {
            AugmentJob.run(sc, SETTINGS, out, 2);
        } finally {
            AugmentJob.failFirstAttemptOf = -1;
        }
        assertEquals(before + 1, AugmentJob.INJECTED.get(), "no attempt failed: the retry was not exercised");
        assertArrayEquals(single, Files.readAllBytes(out), "a retried partition changed the output");
    }

    @Test
    void partsWithoutTheSuccessMarkerAreNeverMerged() throws Exception {
        Path parts = tmp.resolve("unfinished.parts");
        Files.createDirectories(parts);
        Files.writeString(parts.resolve("part-00000"), "half a job\n");
        Path out = tmp.resolve("unfinished.tsv");
        DistillException e = assertThrows(DistillException.class, () -> AugmentJob.merge(parts, "", out));
        assertTrue(e.getMessage().contains(parts.toString()) && e.getMessage().contains("_SUCCESS"), e.getMessage());
        assertFalse(Files.exists(out));
    }
}
