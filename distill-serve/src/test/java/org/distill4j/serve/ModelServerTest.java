package org.distill4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.distill4j.GlueSample;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.StateDict;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP server on a free loopback port, serving all-MiniLM-L6-v2 with a task head. */
class ModelServerTest {

    @TempDir
    static Path dir;

    static Path classifierDir;
    static ModelServer server;
    static final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws IOException {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        classifierDir = dir.resolve("sst2");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel model = ckpt.toModel(m, new BertModel.Heads(false, false, 2));
            HfModelDirectory.write(new Checkpoint("sst2", model.config(), StateDict.of(model, "sst2"),
                    ckpt.tokenizerJson()), classifierDir);
        }
        Files.writeString(classifierDir.resolve("distill.json"),
                "{\"task\":\"SST-2\",\"max_length\":64,\"labels\":[\"negative\",\"positive\"]}");
        server = ModelServer.start(new ServerOptions(classifierDir.toString(), "127.0.0.1", 0,
                InferenceOptions.defaults(), Pooling.MEAN, 8, Duration.ofMillis(5), 64, Duration.ofSeconds(10)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(ModelServer s, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(ModelServer s, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static float[] floats(JsonNode arr) {
        float[] v = new float[arr.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) arr.get(i).asDouble();
        }
        return v;
    }

    @Test
    void embedReturnsTheApisVectors() throws Exception {
        List<String> texts = GlueSample.dev("SST-2", 0, -1, 6).stream().map(GlueSample.Text::first).toList();
        HttpResponse<String> r = post(server, "/embed", Json.MAPPER.writeValueAsString(java.util.Map.of("inputs", texts)));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode got = Json.MAPPER.readTree(r.body());
        try (TextEmbedder e = TextEmbedder.load(classifierDir.toString(), Pooling.MEAN, true)) {
            float[][] want = e.embed(texts);
            assertEquals(texts.size(), got.size());
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(want[i], floats(got.get(i)), 1e-6f, "text " + i);
            }
        }
        HttpResponse<String> one = post(server, "/embed", "{\"inputs\": \"a single text\", \"normalize\": false}");
        assertEquals(200, one.statusCode(), one.body());
        assertEquals(384, Json.MAPPER.readTree(one.body()).get(0).size());
    }

    @Test
    void openAiEmbeddingsHaveTheirShapeAndTokenCounts() throws Exception {
        HttpResponse<String> r = post(server, "/v1/embeddings", "{\"input\": [\"hello world\", \"a b c\"], \"model\": \"x\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode n = Json.MAPPER.readTree(r.body());
        assertEquals("list", n.get("object").asText());
        assertEquals(2, n.get("data").size());
        assertEquals(1, n.get("data").get(1).get("index").asInt());
        assertEquals(384, n.get("data").get(0).get("embedding").size());
        // [CLS] hello world [SEP] and [CLS] a b c [SEP]
        assertEquals(9, n.get("usage").get("prompt_tokens").asInt());
        assertEquals("x", n.get("model").asText());
    }

    @Test
    void predictTakesTextsPairsAndBatches() throws Exception {
        try (TextClassifier c = TextClassifier.load(classifierDir.toString())) {
            Prediction want = c.predict("a gripping film");
            HttpResponse<String> r = post(server, "/predict", "{\"inputs\": \"a gripping film\"}");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode scores = Json.MAPPER.readTree(r.body());
            assertEquals(2, scores.size());
            assertEquals(want.label(), scores.get(0).get("label").asText());
            assertEquals(want.score(), scores.get(0).get("score").floatValue(), 1e-6f);
            assertTrue(scores.get(0).get("score").asDouble() >= scores.get(1).get("score").asDouble());
            Prediction pair = c.predict("a film", "a movie");
            JsonNode p = Json.MAPPER.readTree(post(server, "/predict", "{\"inputs\": [\"a film\", \"a movie\"]}").body());
            assertEquals(pair.score(), p.get(0).get("score").floatValue(), 1e-6f);
        }
        HttpResponse<String> batch = post(server, "/predict", "{\"inputs\": [\"one\", [\"two\", \"three\"], \"four\"]}");
        assertEquals(200, batch.statusCode(), batch.body());
        JsonNode b = Json.MAPPER.readTree(batch.body());
        assertEquals(3, b.size());
        assertEquals(2, b.get(1).size());
    }

    @Test
    void badInputGetsTheRight4xx() throws Exception {
        assertError(post(server, "/embed", "{\"inputs\": [\"a\""), 400, "malformed JSON");
        assertError(post(server, "/embed", "{\"texts\": [\"a\"]}"), 422, "missing field 'inputs'");
        assertError(post(server, "/embed", "{\"inputs\": [\"a\", 3]}"), 422, "inputs[1] must be a string");
        assertError(post(server, "/embed", "{\"inputs\": []}"), 422, "is empty");
        assertError(post(server, "/embed", "{\"inputs\": \"a\", \"normalize\": \"yes\"}"), 422, "true or false");
        assertError(post(server, "/embed", Json.MAPPER.writeValueAsString(java.util.Map.of("inputs",
                java.util.Collections.nCopies(9, "x")))), 413, "at most 8");
        assertError(post(server, "/embed", "{\"inputs\": \"" + "word ".repeat(100) + "\", \"truncate\": false}"), 413,
                "longer than 64 tokens");
        assertError(post(server, "/predict", "{\"inputs\": [[\"a\", \"b\", \"c\"], \"d\"]}"), 422, "inputs[0]");
        assertError(get(server, "/embed"), 405, "takes POST");
        assertError(get(server, "/nothing"), 404, "no endpoint /nothing");
        // The server still answers after all of that.
        assertEquals(200, get(server, "/health").statusCode());
    }

    private static void assertError(HttpResponse<String> r, int status, String text) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode n = Json.MAPPER.readTree(r.body());
        assertTrue(n.get("error").asText().contains(text), r.body());
        assertTrue(n.hasNonNull("error_type"), r.body());
    }

    @Test
    void infoAndMetricsDescribeTheServer() throws Exception {
        JsonNode info = Json.MAPPER.readTree(get(server, "/info").body());
        assertEquals("SST-2", info.get("task").asText());
        assertEquals("djl", info.get("backend").asText());
        assertEquals(384, info.get("dimension").asInt());
        assertEquals(64, info.get("max_input_length").asInt());
        assertEquals("[\"negative\",\"positive\"]", info.get("labels").toString());
        post(server, "/embed", "{\"inputs\": \"count me\"}");
        String metrics = get(server, "/metrics").body();
        assertTrue(metrics.contains("distill_requests_total{endpoint=\"/embed\",status=\"200\"}"), metrics);
        assertTrue(metrics.contains("distill_batches_total"), metrics);
    }

    @Test
    void aFullQueueAnswers429AndAShutdownFinishesWhatIsInFlight() throws Exception {
        // Its own server: one queued request at most, and batches of one request of 8 long texts.
        ModelServer small = ModelServer.start(new ServerOptions("builtin:all-minilm-l6-v2", "127.0.0.1", 0,
                InferenceOptions.defaults().withMaxLength(256), Pooling.MEAN, 8, Duration.ofMillis(1), 1,
                Duration.ofSeconds(20)));
        String slow = Json.MAPPER.writeValueAsString(java.util.Map.of("inputs",
                java.util.Collections.nCopies(8, "a long sentence about nothing in particular ".repeat(20))));
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            calls.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/embed"))
                    .POST(HttpRequest.BodyPublishers.ofString(slow)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        // Six requests at once: one runs, one waits, the rest are refused.
        int ok = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            HttpResponse<String> r = c.get();
            if (r.statusCode() == 200) {
                ok++;
            } else {
                assertEquals(429, r.statusCode(), r.body());
                assertEquals("Overloaded", Json.MAPPER.readTree(r.body()).get("error_type").asText());
                refused++;
            }
        }
        assertTrue(ok >= 1 && refused >= 1, ok + " answered, " + refused + " refused");
        // A request in flight when shutdown begins still gets its answer.
        CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + small.port() + "/embed")).POST(HttpRequest.BodyPublishers.ofString(slow))
                .build(), HttpResponse.BodyHandlers.ofString());
        Thread.sleep(100);
        int port = small.port();
        small.close();
        assertEquals(200, inFlight.get().statusCode());
        assertThrows(IOException.class, () -> client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/health")).GET().build(), HttpResponse.BodyHandlers.ofString()));
    }
}
