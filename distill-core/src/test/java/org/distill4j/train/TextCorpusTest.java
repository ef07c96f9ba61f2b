package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The corpus reads lines back from disk exactly as written, whatever their line ends and characters. */
class TextCorpusTest {

    @TempDir
    Path tmp;

    @Test
    void linesComeBackAsWrittenAndBlankLinesAreSkipped() throws Exception {
        Path f = tmp.resolve("c.txt");
        Files.write(f, "first line\r\n\n   \nzweite Zeile: grüße, 東京\nthird\n\nlast without newline"
                .getBytes(StandardCharsets.UTF_8));
        try (TextCorpus c = TextCorpus.open(f, 0)) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < c.size(); i++) {
                lines.add(c.line(i));
            }
            assertEquals(List.of("first line", "zweite Zeile: grüße, 東京", "third", "last without newline"), lines);
            assertArrayEquals(new int[] {11, "zweite Zeile: grüße, 東京".getBytes(StandardCharsets.UTF_8).length, 5, 20},
                    c.lengths()); // bytes, the \r included
            assertNull(c.labels(new int[] {0, 1}));
        }
        try (TextCorpus c = TextCorpus.open(f, 2)) {
            assertEquals(2, c.size());
            assertEquals("zweite Zeile: grüße, 東京", c.line(1));
        }
    }

    @Test
    void holdOutTakesEveryNthLineAndBothPartsReadTheFile() throws Exception {
        Path f = tmp.resolve("c.txt");
        List<String> text = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            text.add("sentence number " + i + " .");
        }
        Files.write(f, text);
        try (TextCorpus c = TextCorpus.open(f, 0); BertTokenizer tok = Checkpoint.load("builtin:all-minilm-l6-v2")
                .tokenizer(16)) {
            TextCorpus[] parts = c.holdOut(10, 100);
            assertEquals(23, parts[0].size());
            assertEquals(2, parts[1].size());
            assertEquals("sentence number 9 .", parts[1].line(0));
            assertEquals("sentence number 19 .", parts[1].line(1));
            assertEquals("sentence number 10 .", parts[0].line(9));
            TokenBatch b = parts[1].batch(tok, new int[] {1, 0});
            assertEquals(2, b.batchSize());
            TokenBatch direct = tok.batch(List.of("sentence number 19 .", "sentence number 9 ."), null);
            assertArrayEquals(direct.inputIds(), b.inputIds());
        }
    }

    @Test
    void aTabbedLineIsASentencePairWithASecondSegment() throws Exception {
        Path f = tmp.resolve("pairs.txt");
        Files.write(f, List.of("the cat sat .\ta dog ran .", "one text only .", "no second side\t ",
                "\tno first side"));
        try (TextCorpus c = TextCorpus.open(f, 0); BertTokenizer tok = Checkpoint.load("builtin:all-minilm-l6-v2")
                .tokenizer(32)) {
            assertArrayEquals(new String[] {"the cat sat .", "a dog ran ."}, TextCorpus.segments(c.line(0)));
            assertArrayEquals(new String[] {"no second side\t "}, TextCorpus.segments(c.line(2)));
            assertArrayEquals(new String[] {"\tno first side"}, TextCorpus.segments(c.line(3)));

            TokenBatch mixed = c.batch(tok, new int[] {0, 1});
            TokenBatch direct = tok.batch(List.of("the cat sat .", "one text only ."),
                    java.util.Arrays.asList("a dog ran .", null));
            assertArrayEquals(direct.inputIds(), mixed.inputIds());
            assertArrayEquals(direct.tokenTypeIds(), mixed.tokenTypeIds());
            int seq = mixed.inputIds().length / 2;
            long pairTypeOnes = java.util.stream.IntStream.range(0, seq)
                    .filter(j -> mixed.tokenTypeIds()[j] == 1).count();
            assertEquals(5, pairTypeOnes, "'a dog ran .' and its [SEP] are segment B");
            for (int j = seq; j < 2 * seq; j++) {
                assertEquals(0, mixed.tokenTypeIds()[j], "a single text is all segment A");
            }
            // A batch of single texts is tokenized as before pairs existed.
            assertArrayEquals(tok.batch(List.of("one text only ."), null).inputIds(),
                    c.batch(tok, new int[] {1}).inputIds());
        }
    }

    @Test
    void aMissingOrEmptyCorpusIsNamed() throws Exception {
        DistillException missing = assertThrows(DistillException.class,
                () -> TextCorpus.open(tmp.resolve("none.txt"), 0));
        assertTrue(missing.getMessage().contains("none.txt") && missing.getMessage().contains("glue corpus"),
                missing.getMessage());
        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "\n \n");
        DistillException e = assertThrows(DistillException.class, () -> TextCorpus.open(empty, 0));
        assertTrue(e.getMessage().contains("has no text"), e.getMessage());
    }
}
