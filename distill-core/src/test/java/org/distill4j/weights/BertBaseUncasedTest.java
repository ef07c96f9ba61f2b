package org.distill4j.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.distill4j.GlueSample;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.FillMask;
import org.distill4j.model.MaskedLmAccuracy;
import org.distill4j.text.BertTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Google's BERT-base read from the TensorFlow bundle. The 408 MB artifact is fetched by
 * {@code .ci/run} before the tests, so CI always runs these; a developer without it sees them
 * skipped with the command that fetches it.
 */
class BertBaseUncasedTest {

    static Checkpoint ckpt;

    @BeforeAll
    static void load() {
        assumeTrue(TfBertBaseUncased.isAvailable(), "fetch it with: mvn dependency:get -Dartifact="
                + TfBertBaseUncased.GROUP + ":" + TfBertBaseUncased.ARTIFACT + ":" + TfBertBaseUncased.VERSION);
        ckpt = TfBertBaseUncased.read(TfBertBaseUncased.jarPath());
    }

    @Test
    void bundleDescribesBertBaseWithItsHeads() {
        BertConfig c = ckpt.config();
        assertEquals(BertConfig.of(30522, 768, 12, 12, 3072), c);
        assertEquals(new BertModel.Heads(true, true, 0), ckpt.weights().heads());
        // 110,104,890 floats = 440,419,560 bytes, exactly the size of the data shard.
        long floats = ckpt.weights().tensors().values().stream().mapToLong(Tensor::size).sum();
        assertEquals(440_419_560L / 4, floats);
    }

    @Test
    void tokenizerBuiltFromVocabLowerCasesAndKeepsMaskWhole() {
        try (BertTokenizer tok = ckpt.tokenizer(128)) {
            assertArrayEquals(new String[] {"the", "capital", "of", "france", "is", "[MASK]", "."},
                    tok.tokens("The Capital of FRANCE is [MASK] ."));
            assertEquals(103, tok.tokenId("[MASK]"));
        }
    }

    @Test
    void tokenizerBuiltFromVocabMatchesHuggingFacesOwnForTheSameVocabulary() {
        // all-MiniLM-L6-v2 ships a tokenizer.json made by HuggingFace from the same uncased
        // BERT vocabulary: ids must agree on real text, pairs included.
        try (BertTokenizer ours = ckpt.tokenizer(128);
                BertTokenizer hf = Checkpoint.load("builtin:all-minilm-l6-v2").tokenizer(128)) {
            for (GlueSample.Text t : GlueSample.mixed()) {
                assertArrayEquals(hf.encode(t.first(), t.second()).getIds(), ours.encode(t.first(), t.second()).getIds(),
                        t.toString());
                assertArrayEquals(hf.encode(t.first(), t.second()).getTypeIds(),
                        ours.encode(t.first(), t.second()).getTypeIds(), t.toString());
            }
        }
    }

    @Test
    void fillsTheCapitalOfFranceWithParis() {
        try (NDManager manager = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(manager);
                BertTokenizer tok = ckpt.tokenizer(128)) {
            List<FillMask.Candidate> top = new FillMask(model, tok).fill("the capital of france is [MASK] .", 5).get(0);
            assertEquals("paris", top.get(0).token(), "top candidates: " + top);
        }
    }

    @Test
    void maskedLmHeadRecoversMostMaskedWordsOfRealSentences() {
        List<String> sentences = GlueSample.dev("MRPC", 3, -1, 40).stream().map(GlueSample.Text::first).toList();
        try (NDManager manager = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(manager);
                BertTokenizer tok = ckpt.tokenizer(128)) {
            MaskedLmAccuracy.Result r = MaskedLmAccuracy.evaluate(model, tok, sentences, 0.15, 42, 20);
            System.out.printf("BERT-base masked-LM top-1 on %d MRPC sentences: %d/%d = %.3f%n", r.sentences(),
                    r.correct(), r.masked(), r.accuracy());
            assertTrue(r.masked() >= 100, "masked " + r.masked());
            // BERT-base recovers roughly half of masked news-text pieces; a broken head or a
            // transposed kernel gives ~0. 0.35 leaves room for sampling noise on ~130 masks.
            assertTrue(r.accuracy() > 0.35, "accuracy " + r.accuracy());
        }
    }
}
