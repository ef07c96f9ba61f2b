package org.distill4j.serve.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.distill4j.Json;
import org.distill4j.serve.Backend;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.ModelServer;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.ServerOptions;

/**
 * A bounded load test of {@code ./distill serve} on loopback: for each model, a server is started,
 * warmed up, and sent a fixed number of requests (one GLUE dev example each) by 1, 8 and 32
 * concurrent clients that each wait for an answer before sending again. Prints requests/s and
 * p50/p99 latency as a Markdown table row per model, endpoint and concurrency.
 *
 * <p>Arguments: {@code TSV FIRST_COL SECOND_COL REQUESTS LABEL=MODEL@BACKEND ...}; SECOND_COL -1
 * for single texts. /predict is measured for models with a task head, /embed for every model.
 */
public final class ServingBenchmark {

    public static void main(String[] args) throws Exception {
        Path tsv = Path.of(args[0]);
        int firstCol = Integer.parseInt(args[1]);
        int secondCol = Integer.parseInt(args[2]);
        int requests = Integer.parseInt(args[3]);
        List<String[]> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(tsv, StandardCharsets.UTF_8);
        for (String line : lines.subList(1, lines.size())) {
            String[] c = line.split("\t", -1);
            rows.add(new String[] {c[firstCol], secondCol < 0 ? null : c[secondCol]});
        }
        System.out.println("| model | backend | endpoint | clients | requests/s | p50 ms | p99 ms | mean batch |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (String spec : Arrays.copyOfRange(args, 4, args.length)) {
            String label = spec.substring(0, spec.indexOf('='));
            String model = spec.substring(spec.indexOf('=') + 1, spec.lastIndexOf('@'));
            Backend backend = Backend.parse(spec.substring(spec.lastIndexOf('@') + 1));
            ServerOptions o = new ServerOptions(model, "127.0.0.1", 0, InferenceOptions.defaults().withBackend(backend),
                    Pooling.MEAN, 32, Duration.ofMillis(5), 1024, Duration.ofSeconds(30));
            try (ModelServer server = ModelServer.start(o)) {
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                boolean classifier = get(client, server, "/info").contains("\"/predict\"");
                List<String> endpoints = classifier ? List.of("/predict", "/embed") : List.of("/embed");
                for (String endpoint : endpoints) {
                    List<String> bodies = new ArrayList<>();
                    for (String[] r : rows) {
                        bodies.add(body(endpoint, r));
                    }
                    load(client, server, endpoint, bodies, 32, Math.min(requests, 200)); // warm-up
                    for (int clients : new int[] {1, 8, 32}) {
                        String before = get(client, server, "/metrics");
                        double[] r = load(client, server, endpoint, bodies, clients, requests);
                        String after = get(client, server, "/metrics");
                        double batches = metric(after, "distill_batches_total") - metric(before, "distill_batches_total");
                        double texts = metric(after, "distill_batch_texts_total")
                                - metric(before, "distill_batch_texts_total");
                        System.out.printf("| %s | %s | %s | %d | %.1f | %.1f | %.1f | %.1f |%n", label, backend.id(),
                                endpoint, clients, r[0], r[1], r[2], texts / batches);
                    }
                }
            }
        }
    }

    private static String body(String endpoint, String[] row) throws Exception {
        ObjectNode n = Json.MAPPER.createObjectNode();
        if (endpoint.equals("/predict") && row[1] != null) {
            ArrayNode pair = n.putArray("inputs");
            pair.add(row[0]).add(row[1]);
        } else {
            n.put("inputs", row[0]);
        }
        return Json.MAPPER.writeValueAsString(n);
    }

    /** {requests/s, p50 ms, p99 ms} for {@code total} requests from {@code clients} closed-loop clients. */
    private static double[] load(HttpClient client, ModelServer server, String endpoint, List<String> bodies,
            int clients, int total) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.port() + endpoint);
        AtomicInteger next = new AtomicInteger();
        long[] latency = new long[total];
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long start = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).POST(
                            HttpRequest.BodyPublishers.ofString(bodies.get(i % bodies.size()))).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException(endpoint + " answered " + r.statusCode() + ": " + r.body());
                    }
                    latency[i] = System.nanoTime() - t0;
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        long[] sorted = latency.clone();
        Arrays.sort(sorted);
        return new double[] {total / seconds, sorted[(int) (0.50 * (total - 1))] / 1e6,
            sorted[(int) Math.ceil(0.99 * (total - 1))] / 1e6};
    }

    private static String get(HttpClient client, ModelServer server, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static double metric(String metrics, String name) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1));
            }
        }
        throw new IllegalStateException("/metrics has no " + name);
    }
}
