package org.distill4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.distill4j.GlueSample;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BertTokenizerTest {

    static BertTokenizer tok;

    @BeforeAll
    static void load() {
        tok = Checkpoint.load("builtin:all-minilm-l6-v2").tokenizer(16);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void singleTextGetsClsAndSepWithTypeZero() {
        var e = tok.encode("The cat sat.", null);
        assertArrayEquals(new String[] {"[CLS]", "the", "cat", "sat", ".", "[SEP]"}, e.getTokens());
        assertArrayEquals(new long[6], e.getTypeIds());
    }

    @Test
    void pairIsTruncatedLongestFirstToMaxLength() {
        // 3 special tokens + 13 word pieces; the long first text gives up pieces, the short second keeps all.
        String longText = "one two three four five six seven eight nine ten eleven twelve";
        var e = tok.encode(longText, "a b c");
        assertEquals(16, e.getIds().length);
        String[] t = e.getTokens();
        assertEquals("[CLS]", t[0]);
        assertEquals("[SEP]", t[15]);
        assertArrayEquals(new String[] {"[SEP]", "a", "b", "c", "[SEP]"}, java.util.Arrays.copyOfRange(t, 11, 16));
        long[] types = e.getTypeIds();
        assertEquals(0, types[11]);
        assertEquals(1, types[12]);
        assertEquals(1, types[15]);
    }

    @Test
    void dynamicPaddingPadsToTheLongestRowAndFixedPaddingToMaxLength() {
        List<String> texts = List.of("short", "a somewhat longer sentence here");
        TokenBatch dynamic = tok.batch(texts, null);
        assertEquals(7, dynamic.sequenceLength());
        assertEquals(3, dynamic.length(0));
        assertArrayEquals(new long[] {1, 1, 1, 0, 0, 0, 0},
                java.util.Arrays.copyOfRange(dynamic.attentionMask(), 0, 7));
        assertEquals(0, dynamic.inputIds()[4], "padding uses [PAD] = 0");
        TokenBatch fixed = tok.batch(texts, null, true);
        assertEquals(16, fixed.sequenceLength());
        assertArrayEquals(dynamic.ids(1), fixed.ids(1));
    }

    @Test
    void realGlueTextNeverExceedsMaxLength() {
        for (GlueSample.Text t : GlueSample.dev("RTE", 1, 2, 20)) {
            int n = tok.encode(t.first(), t.second()).getIds().length;
            assertTrue(n <= 16, n + " tokens");
        }
    }

    /**
     * The copy of tokenizer.json that the native library gets is rebuilt from checked values; on the
     * real tokenizers it must encode exactly as the file as shipped does.
     */
    @Test
    void checkedCopyEncodesAsTheShippedFile() throws Exception {
        for (String model : new String[] {"builtin:all-minilm-l6-v2", "builtin:bge-small-en-v1.5"}) {
            byte[] raw = Checkpoint.load(model).tokenizerJson();
            try (var shipped = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(
                            new java.io.ByteArrayInputStream(raw), java.util.Map.of("addSpecialTokens", "true",
                                    "truncation", "longest_first", "maxLength", "128", "padding", "false"));
                    BertTokenizer checked = BertTokenizer.fromJson(raw, 128, model)) {
                List<GlueSample.Text> texts = GlueSample.mixed();
                assertTrue(texts.size() >= 40);
                for (GlueSample.Text t : texts) {
                    var a = t.second() == null ? shipped.encode(t.first()) : shipped.encode(t.first(), t.second());
                    var b = checked.encode(t.first(), t.second());
                    assertArrayEquals(a.getIds(), b.getIds(), model + ": " + t.first());
                    assertArrayEquals(a.getTypeIds(), b.getTypeIds(), model + ": " + t.first());
                }
                assertEquals(shipped.decode(new long[] {101, 7592, 2088, 102}, true),
                        checked.decode(new long[] {101, 7592, 2088, 102}));
            }
        }
    }

    @Test
    void aTokenizerJsonTheNativeLibraryWouldAbortOnIsRefusedWithTheField() {
        byte[] raw = Checkpoint.load("builtin:all-minilm-l6-v2").tokenizerJson();
        // A decoder with a non-string key: tokenizers 0.21 panics on it, and the panic aborts the JVM.
        String damaged = new String(raw, java.nio.charset.StandardCharsets.UTF_8)
                .replace("\"decoder\": {", "\"decoder\": {1: 2, ")
                .replace("\"decoder\":{", "\"decoder\":{1:2,");
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.distill4j.DistillException.class,
                () -> BertTokenizer.fromJson(damaged.getBytes(java.nio.charset.StandardCharsets.UTF_8), 128, "x/tok"));
        assertTrue(e.getMessage().startsWith("x/tok: tokenizer.json is not valid JSON"), e.getMessage());
        String wrongType = new String(raw, java.nio.charset.StandardCharsets.UTF_8)
                .replaceFirst("\"cleanup\": ?true", "\"cleanup\": \"yes\"");
        var e2 = org.junit.jupiter.api.Assertions.assertThrows(org.distill4j.DistillException.class,
                () -> BertTokenizer.fromJson(wrongType.getBytes(java.nio.charset.StandardCharsets.UTF_8), 128, "x/tok"));
        assertEquals("x/tok: tokenizer.json field 'decoder.cleanup' must be true or false", e2.getMessage());
    }
}
