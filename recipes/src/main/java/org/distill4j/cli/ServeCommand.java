package org.distill4j.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.distill4j.StopSignal;
import org.distill4j.serve.Backend;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.ModelServer;
import org.distill4j.serve.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Serves one model over HTTP until interrupted (Ctrl-C or SIGTERM finish the requests in flight). */
@Command(name = "serve", description = "Serve a model over HTTP: POST /embed and /predict (text-embeddings-inference), "
        + "POST /v1/embeddings (OpenAI), GET /health, /info, /metrics.")
final class ServeCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "builtin:NAME, a model directory, or (with --backend onnx) a .onnx file or a directory holding model.onnx")
    String model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default ${DEFAULT-VALUE}; "
            + "0.0.0.0 for every interface)")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port (default ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;

    @Option(names = "--backend", defaultValue = "djl", paramLabel = "djl|onnx", description = "default ${DEFAULT-VALUE}")
    String backend;

    @Option(names = "--pooling", defaultValue = "mean", paramLabel = "mean|cls",
            description = "token vectors to one vector for /embed (default ${DEFAULT-VALUE}; cls for bge models)")
    String pooling;

    @Option(names = "--max-length", defaultValue = "0", paramLabel = "N",
            description = "tokens per input (default: the length the model was trained at, else 512)")
    int maxLength;

    @Option(names = "--max-batch", defaultValue = "32", description = "texts per forward pass and per request "
            + "(default ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--max-delay-ms", defaultValue = "5", description = "how long a batch waits for more requests "
            + "(default ${DEFAULT-VALUE})")
    long maxDelayMs;

    @Option(names = "--max-queue", defaultValue = "256", description = "requests waiting before 429 (default ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime intra-op threads (default: one per core)")
    int threads;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Pooling pool = Pooling.parse(pooling);
        InferenceOptions inference = InferenceOptions.defaults().withBackend(Backend.parse(backend))
                .withMaxLength(maxLength).withThreads(threads).withDevice(device.choice());
        ServerOptions options = new ServerOptions(model, host, port, inference, pool, maxBatch,
                Duration.ofMillis(maxDelayMs), maxQueue, Duration.ofSeconds(30));
        ModelServer server = ModelServer.start(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("shutting down: finishing requests in flight");
            server.close();
            stopped.countDown();
        }));
        System.err.printf("serving %s (%s) on http://%s:%d  (POST /embed /predict /v1/embeddings; GET /health /info "
                + "/metrics)%n", model, inference.backend().id(), host, server.port());
        StopSignal.finished(); // this thread only waits from here on: a stop need not wait for it
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
