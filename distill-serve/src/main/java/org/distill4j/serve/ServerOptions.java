package org.distill4j.serve;

import java.time.Duration;

/**
 * How {@link ModelServer} serves a model.
 *
 * @param model any model string the CLI takes
 * @param host the address to listen on ({@code 127.0.0.1} keeps it to this machine)
 * @param port the port, or 0 for a free one
 * @param inference backend, length and truncation of the model ({@code batchSize} is ignored:
 *     batches are {@code maxBatch})
 * @param pooling how /embed and /v1/embeddings pool token vectors
 * @param maxBatch the most texts one forward pass runs, and one request may send
 * @param maxDelay how long the first request of a batch waits for others
 * @param maxQueue requests waiting per endpoint kind; more are answered 429
 * @param shutdownGrace how long shutdown waits for requests in flight
 */
public record ServerOptions(String model, String host, int port, InferenceOptions inference, Pooling pooling,
        int maxBatch, Duration maxDelay, int maxQueue, Duration shutdownGrace) {

    public ServerOptions {
        if (maxBatch < 1 || maxQueue < 1) {
            throw new IllegalArgumentException("maxBatch and maxQueue must be at least 1");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
    }

    /** Loopback, port 8080, DJL, mean pooling, batches of 32 within 5 ms, 256 queued requests. */
    public static ServerOptions defaults(String model) {
        return new ServerOptions(model, "127.0.0.1", 8080, InferenceOptions.defaults(), Pooling.MEAN, 32,
                Duration.ofMillis(5), 256, Duration.ofSeconds(30));
    }
}
