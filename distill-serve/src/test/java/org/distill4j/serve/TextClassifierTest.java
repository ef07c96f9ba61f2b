package org.distill4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.distill4j.GlueSample;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.StateDict;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TextClassifier on model directories as fine-tuning writes them: the real all-MiniLM-L6-v2 encoder
 * with a task head (a fresh one: what is checked here is the API around the head, not its accuracy).
 */
class TextClassifierTest {

    @TempDir
    static Path dir;

    static Path rte;
    static Path stsb;
    static float[] expected;
    static List<GlueSample.Text> pairs;

    @BeforeAll
    static void writeModels() throws Exception {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        pairs = GlueSample.dev("RTE", 1, 2, 12);
        rte = dir.resolve("rte");
        stsb = dir.resolve("stsb");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel two = ckpt.toModel(m, new BertModel.Heads(false, false, 2));
            write(rte, two, ckpt, "{\"task\":\"RTE\",\"max_length\":128,\"labels\":[\"entailment\",\"not_entailment\"]}");
            try (BertTokenizer tok = ckpt.tokenizer(128)) {
                var batch = tok.batch(pairs.stream().map(GlueSample.Text::first).toList(),
                        pairs.stream().map(GlueSample.Text::second).toList());
                expected = two.predict(new ParameterStore(m, false), batch.toInput(m)).toFloatArray();
            }
            write(stsb, ckpt.toModel(m, new BertModel.Heads(false, false, 1)), ckpt,
                    "{\"task\":\"STS-B\",\"max_length\":128}");
        }
    }

    private static void write(Path out, BertModel model, Checkpoint ckpt, String info) throws java.io.IOException {
        HfModelDirectory.write(new Checkpoint(out.toString(), model.config(), StateDict.of(model, out.toString()),
                ckpt.tokenizerJson()), out);
        Files.writeString(out.resolve("distill.json"), info);
    }

    @Test
    void labelsAndProbabilitiesComeFromTheHead() {
        try (TextClassifier c = TextClassifier.load(rte.toString())) {
            assertEquals(List.of("entailment", "not_entailment"), c.labels());
            assertEquals("RTE", c.task());
            assertEquals(128, c.maxLength());
            List<Prediction> got = c.predictAll(pairs.stream().map(GlueSample.Text::first).toList(),
                    pairs.stream().map(GlueSample.Text::second).toList());
            for (int i = 0; i < pairs.size(); i++) {
                Prediction p = got.get(i);
                float[] scores = {p.scores().get("entailment"), p.scores().get("not_entailment")};
                float[] softmax = softmax(expected[2 * i], expected[2 * i + 1]);
                assertArrayEquals(softmax, scores, 1e-5f, "pair " + i);
                assertEquals(scores[0] >= scores[1] ? "entailment" : "not_entailment", p.label());
                assertEquals(Math.max(scores[0], scores[1]), p.score(), 0f);
            }
            // One pair alone gets what it got in a batch of twelve.
            Prediction one = c.predict(pairs.get(3).first(), pairs.get(3).second());
            assertEquals(got.get(3).scores().get("entailment"), one.scores().get("entailment"), 1e-5f);
        }
    }

    @Test
    void aRegressionHeadGivesItsValue() {
        try (TextClassifier c = TextClassifier.load(stsb.toString())) {
            assertTrue(c.isRegression());
            Prediction p = c.predict("A man is playing a guitar.", "A man plays the guitar.");
            assertNull(p.label());
            assertTrue(p.scores().isEmpty());
            assertTrue(Float.isFinite(p.score()));
        }
    }

    @Test
    void manyThreadsGetWhatOneThreadGets() throws Exception {
        try (TextClassifier c = TextClassifier.load(rte.toString(), InferenceOptions.defaults().withBatchSize(4))) {
            List<String> a = pairs.stream().map(GlueSample.Text::first).toList();
            List<String> b = pairs.stream().map(GlueSample.Text::second).toList();
            List<Prediction> alone = c.predictAll(a, b);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<List<Prediction>>> calls = new ArrayList<>();
                for (int t = 0; t < 12; t++) {
                    int from = t % 5;
                    calls.add(pool.submit(() -> c.predictAll(a.subList(from, a.size()), b.subList(from, b.size()))));
                }
                for (int t = 0; t < calls.size(); t++) {
                    List<Prediction> got = calls.get(t).get();
                    for (int i = 0; i < got.size(); i++) {
                        Prediction want = alone.get(t % 5 + i);
                        assertEquals(want.label(), got.get(i).label());
                        assertEquals(want.score(), got.get(i).score(), 1e-5f);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aModelWithoutHeadIsRefusedWithAHint() {
        RuntimeException e = assertThrows(RuntimeException.class, () -> TextClassifier.load("builtin:all-minilm-l6-v2"));
        assertTrue(e.getMessage().contains("no task head"), e.getMessage());
    }

    private static float[] softmax(float a, float b) {
        double m = Math.max(a, b);
        double ea = Math.exp(a - m);
        double eb = Math.exp(b - m);
        return new float[] {(float) (ea / (ea + eb)), (float) (eb / (ea + eb))};
    }
}
