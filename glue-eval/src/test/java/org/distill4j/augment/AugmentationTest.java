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
 * TinyBERT augmentation of 8 real MRPC pairs with BERT-base's masked-LM head, in chunks of 4
 * rows: the same seed writes the same file, every copy keeps its row's label and other side, and
 * a run killed mid-chunk resumes into the file an uninterrupted run writes.
 */
class AugmentationTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    private static Augmentation.Settings settings(long seed) {
        return new Augmentation.Settings(GlueTask.MRPC, GLUE, "builtin:bert-base-uncased", 8, 15, 0.4, seed, 3, 16, 8,
                4, true, false);
    }

    @Test
    void deterministicLabelledAndResumable() throws Exception {
        assumeTrue(TfBertBaseUncased.isAvailable(), "fetch it with: mvn dependency:get -Dartifact="
                + TfBertBaseUncased.GROUP + ":" + TfBertBaseUncased.ARTIFACT + ":" + TfBertBaseUncased.VERSION);
        Path a = tmp.resolve("a.tsv");
        Augmentation.Result r = Augmentation.run(settings(7), a, tmp.resolve("cache-a"));
        assertFalse(r.cached());
        assertEquals(16, r.texts()); // 8 pairs, both sides: two chunks of 4
        assertTrue(r.onePieceWords() > 100 && r.longerWords() > 0, r.toString());
        List<String> rows = Files.readAllLines(a, StandardCharsets.UTF_8);
        List<String> train = Files.readAllLines(GLUE.resolve("MRPC/train.tsv"), StandardCharsets.UTF_8);
        assertEquals(train.get(0).replace("\uFEFF", ""), rows.get(0), "the header is kept");
        assertTrue(rows.size() > 8 * 5, "few copies: " + rows.size()); // up to 8 per side

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
        assertEquals(8, originals);

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
        assertEquals(8, resumed.texts(), "only the chunk left was augmented");
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(c));
    }

    /**
     * A text file (one text per line, the input of general distillation): each non-blank line is
     * written as it was, then its copies, one per line; a line A<TAB>B is a pair, each side augmented
     * on its own and the copies keeping the tab.
     */
    @Test
    void aTextFileIsAugmentedLineByLine() throws Exception {
        assumeTrue(TfBertBaseUncased.isAvailable(), "fetch it with: mvn dependency:get -Dartifact="
                + TfBertBaseUncased.GROUP + ":" + TfBertBaseUncased.ARTIFACT + ":" + TfBertBaseUncased.VERSION);
        List<String> sst = Files.readAllLines(GLUE.resolve("SST-2/train.tsv"), StandardCharsets.UTF_8).subList(1, 7)
                .stream().map(l -> l.split("\t")[0]).toList();
        List<String> lines = new java.util.ArrayList<>(sst);
        lines.add(2, "");                                   // blank: skipped
        lines.add("the film is long\tand the ending is weak"); // a sentence pair
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, lines, StandardCharsets.UTF_8);
        Augmentation.Settings s = new Augmentation.Settings(null, null, "builtin:bert-base-uncased", 5, 15, 0.4, 7, 3,
                16, 0, 4, true, false, corpus);
        Path out = tmp.resolve("corpus-aug.txt");
        Augmentation.Result r = Augmentation.run(s, out, tmp.resolve("cache"));
        assertEquals(7, r.examples());
        assertEquals(8, r.texts(), "six texts and the pair's two sides");
        List<String> written = Files.readAllLines(out, StandardCharsets.UTF_8);
        List<String> texts = lines.stream().filter(l -> !l.isBlank()).toList();
        int next = 0;
        int copies = 0;
        for (String w : written) {
            if (next < texts.size() && w.equals(texts.get(next))) {
                next++;
            } else {
                assertTrue(next > 0, "a copy before any original: " + w);
                assertFalse(w.isBlank(), "an empty copy");
                copies++;
            }
        }
        assertEquals(texts.size(), next, "every line, in order: " + written);
        assertTrue(copies > 8 * 2 && copies <= 8 * 5, copies + " copies");
        // The pair's copies change one side and keep the other, tab and all; both sides get copies.
        int tabbed = written.indexOf(texts.get(texts.size() - 1));
        List<String> tabCopies = written.subList(tabbed + 1, written.size());
        long firstChanged = tabCopies.stream().filter(l -> l.endsWith("\tand the ending is weak")).count();
        long secondChanged = tabCopies.stream().filter(l -> l.startsWith("the film is long\t")).count();
        assertTrue(firstChanged > 0 && secondChanged > 0, tabCopies.toString());
        assertEquals(tabCopies.size(), firstChanged + secondChanged, tabCopies.toString());
        assertTrue(tabCopies.stream().allMatch(l -> l.split("\t", -1).length == 2), tabCopies.toString());
        assertTrue(written.stream().noneMatch(l -> l.matches(".*\\[[A-Za-z0-9]+\\].*")),
                "a special token ([UNK], [SEP], ...) is no candidate word: " + written);
        // Another cache, the same bytes; the original task-less settings name the file in the cache.
        Path again = tmp.resolve("again.txt");
        Augmentation.run(s, again, tmp.resolve("cache-2"));
        assertArrayEquals(Files.readAllBytes(out), Files.readAllBytes(again));
        assertTrue(Files.list(tmp.resolve("cache")).anyMatch(d -> d.getFileName().toString().startsWith("corpus.txt-")));
    }
}
