package org.distill4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.distill4j.GlueSample;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;

/** TextEmbedder on the real all-MiniLM-L6-v2 and real GLUE dev texts, on both backends. */
class TextEmbedderTest {

    static final String MINILM = "builtin:all-minilm-l6-v2";

    private static List<String> texts() {
        return GlueSample.mixed().stream().map(GlueSample.Text::first).toList();
    }

    @Test
    void poolingIsTheMeanOverRealTokensAndOnnxRuntimeAgrees() {
        List<String> texts = texts();
        // Reference: the encoder's last hidden state, averaged over each text alone (no padding at all).
        float[][] reference = new float[texts.size()][];
        Checkpoint ckpt = Checkpoint.load(MINILM);
        try (NDManager m = NDManager.newBaseManager();
                BertModel bert = ckpt.toModel(m, BertModel.Heads.NONE);
                BertTokenizer tok = ckpt.tokenizer(128)) {
            for (int i = 0; i < texts.size(); i++) {
                try (NDManager step = m.newSubManager()) {
                    NDArray mean = bert.lastHidden(new ParameterStore(step, false),
                            tok.batch(List.of(texts.get(i)), null).toInput(step), false).mean(new int[] {1});
                    reference[i] = mean.div(mean.norm()).toFloatArray();
                }
            }
        }
        InferenceOptions o = InferenceOptions.defaults().withMaxLength(128).withBatchSize(7);
        try (TextEmbedder djl = TextEmbedder.load(MINILM, Pooling.MEAN, true, o);
                TextEmbedder ort = TextEmbedder.load(MINILM, Pooling.MEAN, true, o.withBackend(Backend.ONNX))) {
            assertEquals(384, djl.dimension());
            assertEquals(384, ort.dimension());
            float[][] a = djl.embed(texts);
            float[][] b = ort.embed(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(reference[i], a[i], 1e-5f, "text " + i + " (DJL, batched with padding)");
                assertArrayEquals(a[i], b[i], 1e-4f, "text " + i + " (ONNX Runtime against DJL)");
            }
        }
    }

    @Test
    void manyThreadsGetWhatOneThreadGets() throws Exception {
        List<String> texts = texts();
        for (Backend backend : Backend.values()) {
            InferenceOptions o = InferenceOptions.defaults().withBackend(backend).withMaxLength(64).withBatchSize(5);
            try (TextEmbedder e = TextEmbedder.load(MINILM, Pooling.CLS, false, o)) {
                float[][] alone = e.embed(texts);
                ExecutorService pool = Executors.newFixedThreadPool(8);
                try {
                    List<Future<float[][]>> calls = new ArrayList<>();
                    for (int t = 0; t < 16; t++) {
                        // Each caller asks for a different slice, so batches differ from the single-thread run.
                        int from = t % 7;
                        calls.add(pool.submit(() -> e.embed(texts.subList(from, texts.size()))));
                    }
                    for (int t = 0; t < calls.size(); t++) {
                        float[][] got = calls.get(t).get();
                        int from = t % 7;
                        for (int i = 0; i < got.length; i++) {
                            assertArrayEquals(alone[from + i], got[i], 1e-4f, backend + " caller " + t + " text " + i);
                        }
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    @Test
    void longTextsAreCutAndSaidSoOrRejected() {
        String shortText = "A short sentence.";
        String longText = "word ".repeat(100);
        InferenceOptions o = InferenceOptions.defaults().withMaxLength(16);
        try (TextEmbedder e = TextEmbedder.load(MINILM, Pooling.MEAN, true, o)) {
            List<Embedding> out = e.embedAll(List.of(shortText, longText), null);
            assertFalse(out.get(0).truncated());
            assertTrue(out.get(1).truncated());
            assertEquals(16, e.maxLength());
        }
        try (TextEmbedder strict = TextEmbedder.load(MINILM, Pooling.MEAN, true, o.withTruncate(false))) {
            InputTooLongException x = assertThrows(InputTooLongException.class,
                    () -> strict.embed(List.of(shortText, shortText, longText)));
            assertEquals(2, x.index());
            assertTrue(x.getMessage().contains("longer than 16 tokens"), x.getMessage());
        }
    }

    @Test
    void onnxRuntimeNeedsAnOnnxFile() {
        InferenceOptions onnx = InferenceOptions.defaults().withBackend(Backend.ONNX);
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> TextEmbedder.load("builtin:bert-base-uncased", Pooling.CLS, false, onnx));
        assertTrue(e.getMessage().contains("./distill export"), e.getMessage());
    }
}
