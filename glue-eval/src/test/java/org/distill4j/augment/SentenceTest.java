package org.distill4j.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;

/** Words as augmentation sees them: as written, whatever characters come before them. */
class SentenceTest {

    @Test
    void wordsKeepTheirWrittenFormAfterAnEmojiAndAccents() {
        try (BertTokenizer tok = Checkpoint.load("builtin:all-minilm-l6-v2").tokenizer(512)) {
            Sentence s = Sentence.of("Café naïve 😀 résumé, über-cool", tok);
            assertEquals(List.of("Café", "naïve", "😀", "résumé", ",", "über", "-", "cool"), s.words());
            assertEquals(List.of("cafe", "naive", "[UNK]", "resume", ",", "uber", "-", "cool"), s.normalized());
            assertTrue(s.candidate(0));
            assertFalse(s.candidate(2), "not letters");
            assertFalse(s.candidate(4), "punctuation");
            assertTrue(s.pieces().get(3).length >= 1);
            Sentence stop = Sentence.of("The cat is on the mat", tok);
            assertFalse(stop.candidate(0), "a stop word");
            assertTrue(stop.candidate(1));
        }
    }
}
