package org.distill4j.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.distill4j.Json;
import org.distill4j.glue.GlueTask;
import org.distill4j.weights.TfBertBaseUncased;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TinyBERT augmentation of 12 real MRPC pairs with BERT-base's masked-LM head, in chunks of 4
 * rows: the same seed writes the same file, every copy keeps its row's label and other side, and
 * a run killed mid-chunk resumes into the file an uninterrupted run writes.
 */
class AugmentationTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    private static Augmentation.Settings settings(long seed) {
        return new Augmentation.Settings(GlueTask.MRPC, GLUE, "builtin:bert-base-uncased", 8, 15, 0.4, seed, 3, 16, 12,
                4, true, false);
    }

    @Test
    void deterministicLabelledAndResumable() throws Exception {
        assumeTrue(TfBertBaseUncased.isAvailable(), "fetch it with: mvn dependency:get -Dartifact="
                + TfBertBaseUncased.GROUP + ":" + TfBertBaseUncased.ARTIFACT + ":" + TfBertBaseUncased.VERSION);
        Path a = tmp.resolve("a.tsv");
        Augmentation.Result r = Augmentation.run(settings(7), a, tmp.resolve("cache-a"));
        assertFalse(r.cached());
        assertEquals(24, r.texts()); // 12 pairs, both sides
        assertTrue(r.onePieceWords() > 100 && r.longerWords() > 0, r.toString());
        List<String> rows = Files.readAllLines(a, StandardCharsets.UTF_8);
        List<String> train = Files.readAllLines(GLUE.resolve("MRPC/train.tsv"), StandardCharsets.UTF_8);
        assertEquals(train.get(0).replace("\uFEFF", ""), rows.get(0), "the header is kept");
        assertTrue(rows.size() > 12 * 5, "few copies: " + rows.size()); // up to 8 per side

        // Every row is an original or a copy of the last original above it: same label, ids and one side.
        String[] original = null;
        int originals = 0;
        for (String row : rows.subList(1, rows.size())) {
            String[] c = row.split("\t", -1);
            assertEquals(5, c.length, row);
            if (train.contains(row)) {
                original = c;
                originals++;
                continue;
            }
            assertTrue(original != null, row);
            assertEquals(original[0], c[0], "label travels with its copy: " + row);
            assertEquals(original[1] + original[2], c[1] + c[2], row);
            assertTrue(c[3].equals(original[3]) != c[4].equals(original[4]), "exactly one side changed: " + row);
        }
        assertEquals(12, originals);

        // The same inputs: the cache answers; another cache: the same bytes all over again.
        assertTrue(Augmentation.run(settings(7), tmp.resolve("again.tsv"), tmp.resolve("cache-a")).cached());
        Path b = tmp.resolve("b.tsv");
        Augmentation.run(settings(7), b, tmp.resolve("cache-b"));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        Path other = tmp.resolve("other.tsv");
        Augmentation.run(settings(8), other, tmp.resolve("cache-b"));
        assertFalse(Files.readString(other).equals(Files.readString(a)), "another seed, other draws");

        // A kill after the first chunk, half-way through writing the second: progress says one chunk, and the
        // partial file runs on past it. The resumed run must write exactly the uninterrupted file.
        Path dir = Files.list(tmp.resolve("cache-a")).findFirst().orElseThrow();
        String full = Files.readString(dir.resolve("augmented.tsv"), StandardCharsets.UTF_8);
        int fifth = full.indexOf("\n" + train.get(5) + "\n") + 1; // the first row of the second chunk
        long bytes = full.substring(0, fifth).getBytes(StandardCharsets.UTF_8).length;
        Path resumeCache = tmp.resolve("cache-c").resolve(dir.getFileName());
        Files.createDirectories(resumeCache);
        Files.writeString(resumeCache.resolve("augmented.tsv.partial"), full.substring(0, fifth + 40),
                StandardCharsets.UTF_8, StandardOpenOption.CREATE);
        Json.MAPPER.writeValue(resumeCache.resolve("progress.json").toFile(), Map.of("chunks", 1, "bytes", bytes));
        Path c = tmp.resolve("c.tsv");
        Augmentation.Result resumed = Augmentation.run(settings(7), c, tmp.resolve("cache-c"));
        assertEquals(16, resumed.texts(), "only the two chunks left were augmented");
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(c));
    }
}
