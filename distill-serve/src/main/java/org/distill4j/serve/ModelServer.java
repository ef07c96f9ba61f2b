package org.distill4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.distill4j.DistillException;
import org.distill4j.Json;

/**
 * An HTTP server for one model, on the JDK's own {@code com.sun.net.httpserver} (no dependency
 * to keep patched; HTTP/1.1 with keep-alive, which is what a model behind a load balancer needs).
 *
 * <ul>
 *   <li>{@code POST /embed}, {@code POST /predict}: HuggingFace text-embeddings-inference's shapes;
 *   <li>{@code POST /v1/embeddings}: OpenAI's;
 *   <li>{@code GET /health}, {@code GET /info}, {@code GET /metrics} (Prometheus text).
 * </ul>
 *
 * Requests that arrive together run as one batch ({@link MicroBatcher}); a full queue answers 429.
 * Errors are JSON {@code {"error", "error_type"}} with a 4xx status for the client's mistakes.
 * {@link #close()} stops accepting, finishes requests in flight, then frees the model.
 */
public final class ModelServer implements AutoCloseable {

    private static final int MAX_BODY_BYTES = 16 << 20;

    private final ServerOptions options;
    private final LoadedModel model;
    private final TextEmbedder embedder;
    private final TextClassifier classifier;
    private final MicroBatcher<Embedding> embedBatcher;
    private final MicroBatcher<Prediction> predictBatcher;
    private final ServerMetrics metrics = new ServerMetrics();
    private final ExecutorService handlers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "http-handler");
        t.setDaemon(true);
        return t;
    });
    private final HttpServer http;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closing;

    /** An error answered to the client. */
    private static final class ApiError extends RuntimeException {
        final int status;
        final String type;

        ApiError(int status, String type, String message) {
            super(message);
            this.status = status;
            this.type = type;
        }
    }

    private ModelServer(ServerOptions options) throws IOException {
        this.options = options;
        // The socket first: a port in use fails before the model is loaded and workers are started.
        this.http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 256);
        try {
            this.model = LoadedModel.open(options.model(), options.inference().withTruncate(true)
                    .withBatchSize(options.maxBatch()), true);
        } catch (RuntimeException e) {
            http.stop(0);
            throw e;
        }
        try {
            this.embedder = new TextEmbedder(model, options.pooling(), false);
            this.classifier = model.backend.outputs() > 0 ? new TextClassifier(model) : null;
        } catch (RuntimeException e) {
            http.stop(0);
            model.close();
            throw e;
        }
        this.embedBatcher = new MicroBatcher<>("embed", options.maxBatch(), options.maxDelay(), options.maxQueue(),
                (a, b) -> embedder.embedAll(a, null), metrics::batch);
        this.predictBatcher = classifier == null ? null
                : new MicroBatcher<>("predict", options.maxBatch(), options.maxDelay(), options.maxQueue(),
                        classifier::predictAll, metrics::batch);
        metrics.queue("embed", embedBatcher::queued);
        if (predictBatcher != null) {
            metrics.queue("predict", predictBatcher::queued);
        }
        http.setExecutor(handlers);
        route("/embed", "POST", this::embed);
        route("/predict", "POST", this::predict);
        route("/v1/embeddings", "POST", this::openAiEmbeddings);
        route("/health", "GET", ex -> json(Json.MAPPER.createObjectNode().put("status", "ok")));
        route("/info", "GET", ex -> json(info()));
        route("/metrics", "GET", ex -> new Reply(200, "text/plain; version=0.0.4", metrics.render()));
        route("/", null, ex -> {
            throw new ApiError(404, "NotFound", "no endpoint " + ex.getRequestURI().getPath()
                    + "; try /embed, /predict, /v1/embeddings, /health, /info or /metrics");
        });
        http.start();
    }

    /** Loads the model and starts listening. */
    public static ModelServer start(ServerOptions options) {
        try {
            return new ModelServer(options);
        } catch (IOException e) {
            throw new DistillException("Cannot listen on " + options.host() + ":" + options.port() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The port listened on (the free one chosen when the options said 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    private record Reply(int status, String contentType, String body) {}

    private interface Endpoint {
        Reply handle(HttpExchange ex) throws Exception;
    }

    private void route(String path, String method, Endpoint endpoint) {
        http.createContext(path, ex -> {
            long start = System.nanoTime();
            inFlight.incrementAndGet();
            Reply reply;
            try {
                if (closing) {
                    throw new ApiError(503, "Unhealthy", "the server is shutting down");
                }
                if (!path.equals("/") && !path.equals(ex.getRequestURI().getPath())) {
                    throw new ApiError(404, "NotFound", "no endpoint " + ex.getRequestURI().getPath());
                }
                if (method != null && !method.equals(ex.getRequestMethod())) {
                    ex.getResponseHeaders().add("Allow", method);
                    throw new ApiError(405, "MethodNotAllowed", path + " takes " + method + ", not "
                            + ex.getRequestMethod());
                }
                reply = endpoint.handle(ex);
            } catch (ApiError e) {
                reply = error(e.status, e.type, e.getMessage());
            } catch (MicroBatcher.Overloaded e) {
                reply = error(429, "Overloaded", e.getMessage());
            } catch (Exception e) {
                Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                reply = error(500, "Backend", cause.getClass().getSimpleName() + ": " + cause.getMessage());
            }
            try {
                send(ex, reply);
            } finally {
                metrics.request(path, reply.status, System.nanoTime() - start);
                inFlight.decrementAndGet();
            }
        });
    }

    private Reply embed(HttpExchange ex) throws Exception {
        JsonNode req = body(ex);
        List<String> inputs = texts(req, "inputs");
        boolean normalize = bool(req, "normalize", true);
        boolean truncate = bool(req, "truncate", true);
        List<Embedding> out = embedBatcher.submit(inputs, null).get();
        checkTruncation(out.stream().map(Embedding::truncated).toList(), truncate);
        ArrayNode arr = Json.MAPPER.createArrayNode();
        for (Embedding e : out) {
            ArrayNode v = arr.addArray();
            for (float x : normalize ? TextEmbedder.normalized(e.vector()) : e.vector()) {
                v.add(x);
            }
        }
        return json(arr);
    }

    private Reply openAiEmbeddings(HttpExchange ex) throws Exception {
        JsonNode req = body(ex);
        List<String> inputs = texts(req, "input");
        String format = req.path("encoding_format").asText("float");
        if (!format.equals("float")) {
            throw new ApiError(422, "Validation", "encoding_format '" + format + "' is not supported; use float");
        }
        if (req.has("dimensions") && req.get("dimensions").asInt() != embedder.dimension()) {
            throw new ApiError(422, "Validation", "this model's vectors have " + embedder.dimension()
                    + " dimensions; dimensions=" + req.get("dimensions") + " cannot be given");
        }
        List<Embedding> out = embedBatcher.submit(inputs, null).get();
        ObjectNode res = Json.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = res.putArray("data");
        int tokens = 0;
        for (int i = 0; i < out.size(); i++) {
            ObjectNode d = data.addObject().put("object", "embedding").put("index", i);
            ArrayNode v = d.putArray("embedding");
            for (float x : TextEmbedder.normalized(out.get(i).vector())) {
                v.add(x);
            }
            tokens += out.get(i).tokens();
        }
        res.put("model", req.path("model").asText(options.model()));
        res.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return json(res);
    }

    private Reply predict(HttpExchange ex) throws Exception {
        if (classifier == null) {
            throw new ApiError(404, "NotFound", options.model() + " has no task head: /predict needs a fine-tuned or "
                    + "distilled classifier; /embed serves its vectors");
        }
        JsonNode req = body(ex);
        if (bool(req, "raw_scores", false)) {
            throw new ApiError(422, "Validation", "raw_scores is not supported: scores are probabilities");
        }
        boolean truncate = bool(req, "truncate", true);
        JsonNode inputs = req.get("inputs");
        // text-embeddings-inference's rule: a string is one text, two strings are one pair, and any
        // other list is a batch whose items are strings or two-string pairs.
        boolean single = inputs != null && (inputs.isTextual() || isPair(inputs));
        List<JsonNode> items = new ArrayList<>();
        if (single) {
            items.add(inputs);
        } else if (inputs != null && inputs.isArray()) {
            inputs.forEach(items::add);
        } else {
            throw new ApiError(422, "Validation", "'inputs' must be a string, a [text, text] pair, or a list of them");
        }
        if (items.isEmpty()) {
            throw new ApiError(422, "Empty", "'inputs' is empty");
        }
        checkBatch(items.size());
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            JsonNode it = items.get(i);
            if (it.isTextual()) {
                first.add(it.asText());
                second.add(null);
            } else if (isPair(it)) {
                first.add(it.get(0).asText());
                second.add(it.get(1).asText());
            } else {
                throw new ApiError(422, "Validation", "inputs[" + i + "] must be a string or a [text, text] pair");
            }
        }
        List<Prediction> out = predictBatcher.submit(first, second).get();
        checkTruncation(out.stream().map(Prediction::truncated).toList(), truncate);
        ArrayNode res = Json.MAPPER.createArrayNode();
        for (Prediction p : out) {
            ArrayNode scores = single ? res : res.addArray();
            if (classifier.isRegression()) {
                scores.addObject().put("score", p.score()).put("label", "LABEL_0");
                continue;
            }
            p.scores().entrySet().stream().sorted(Map.Entry.<String, Float>comparingByValue(Comparator.reverseOrder()))
                    .forEach(e -> scores.addObject().put("score", e.getValue()).put("label", e.getKey()));
        }
        return json(res);
    }

    private static boolean isPair(JsonNode n) {
        return n.isArray() && n.size() == 2 && n.get(0).isTextual() && n.get(1).isTextual();
    }

    private ObjectNode info() {
        ObjectNode i = Json.MAPPER.createObjectNode();
        i.put("model", options.model());
        i.put("backend", model.backend.kind().id());
        i.put("task", model.info.task());
        ArrayNode labels = i.putArray("labels");
        if (classifier != null) {
            classifier.labels().forEach(labels::add);
        }
        i.put("regression", classifier != null && classifier.isRegression());
        i.put("dimension", embedder.dimension());
        i.put("pooling", options.pooling().name().toLowerCase());
        i.put("max_input_length", model.maxLength());
        i.put("max_batch", options.maxBatch());
        i.put("max_delay_ms", options.maxDelay().toMillis());
        i.put("max_queue", options.maxQueue());
        ArrayNode endpoints = i.putArray("endpoints");
        List.of("/embed", "/v1/embeddings", "/health", "/info", "/metrics").forEach(endpoints::add);
        if (classifier != null) {
            endpoints.add("/predict");
        }
        return i;
    }

    /** The body as JSON: 400 if it is not JSON, 413 if it is too large. */
    private static JsonNode body(HttpExchange ex) throws IOException {
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiError(413, "Validation", "request body over " + (MAX_BODY_BYTES >> 20) + " MB");
        }
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ApiError(400, "Validation", "malformed JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ApiError(400, "Validation", "the body must be a JSON object");
        }
        return n;
    }

    /** A string or a list of strings under {@code field}. */
    private List<String> texts(JsonNode req, String field) {
        JsonNode n = req.get(field);
        if (n == null) {
            throw new ApiError(422, "Validation", "missing field '" + field + "'");
        }
        List<String> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                if (!n.get(i).isTextual()) {
                    throw new ApiError(422, "Validation", field + "[" + i + "] must be a string, got "
                            + n.get(i).getNodeType().name().toLowerCase());
                }
                out.add(n.get(i).asText());
            }
        } else {
            throw new ApiError(422, "Validation", "'" + field + "' must be a string or a list of strings, got "
                    + n.getNodeType().name().toLowerCase());
        }
        if (out.isEmpty()) {
            throw new ApiError(422, "Empty", "'" + field + "' is empty");
        }
        checkBatch(out.size());
        return out;
    }

    private void checkBatch(int n) {
        if (n > options.maxBatch()) {
            throw new ApiError(413, "Validation", n + " inputs; this server takes at most " + options.maxBatch()
                    + " per request");
        }
    }

    private static boolean bool(JsonNode req, String field, boolean fallback) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw new ApiError(422, "Validation", "'" + field + "' must be true or false");
        }
        return n.asBoolean();
    }

    private void checkTruncation(List<Boolean> truncated, boolean allowed) {
        if (!allowed) {
            int i = truncated.indexOf(Boolean.TRUE);
            if (i >= 0) {
                throw new ApiError(413, "Validation", "input " + i + " is longer than " + model.maxLength()
                        + " tokens; send \"truncate\": true to cut it");
            }
        }
    }

    private static Reply json(JsonNode n) throws JsonProcessingException {
        return new Reply(200, "application/json", Json.MAPPER.writeValueAsString(n));
    }

    private static Reply error(int status, String type, String message) {
        ObjectNode n = Json.MAPPER.createObjectNode().put("error", message).put("error_type", type);
        return new Reply(status, "application/json", n.toString());
    }

    private static void send(HttpExchange ex, Reply reply) throws IOException {
        byte[] bytes = reply.body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", reply.contentType);
        ex.sendResponseHeaders(reply.status, bytes.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(bytes);
        }
    }

    /** Refuses new requests (503), finishes those in flight (up to the grace period), then frees the model. */
    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        // HttpServer.stop(delay) on JDK 17 waits the whole delay even when nothing is in flight, so
        // requests are counted here and the listener closed once they are done.
        long deadline = System.nanoTime() + options.shutdownGrace().toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        http.stop(0);
        embedBatcher.close();
        if (predictBatcher != null) {
            predictBatcher.close();
        }
        handlers.shutdownNow();
        model.close();
    }
}
