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
}
