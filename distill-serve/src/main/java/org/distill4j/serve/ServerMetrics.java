package org.distill4j.serve;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** Counters behind {@code GET /metrics}, in Prometheus' text format. */
final class ServerMetrics {

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> nanos = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> timed = new ConcurrentHashMap<>();
    private final LongAdder batches = new LongAdder();
    private final LongAdder batchTexts = new LongAdder();
    private final AtomicLong largestBatch = new AtomicLong();
    private final Map<String, IntSupplier> queues = new ConcurrentHashMap<>();

    void request(String endpoint, int status, long elapsedNanos) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
        nanos.computeIfAbsent(endpoint, k -> new LongAdder()).add(elapsedNanos);
        timed.computeIfAbsent(endpoint, k -> new LongAdder()).increment();
    }

    void batch(int texts) {
        batches.increment();
        batchTexts.add(texts);
        largestBatch.accumulateAndGet(texts, Math::max);
    }

    void queue(String name, IntSupplier depth) {
        queues.put(name, depth);
    }

    String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("# TYPE distill_requests_total counter\n");
        new TreeMap<>(requests).forEach((k, v) -> {
            String[] p = k.split("\u0000");
            sb.append("distill_requests_total{endpoint=\"").append(p[0]).append("\",status=\"").append(p[1])
                    .append("\"} ").append(v.sum()).append('\n');
        });
        sb.append("# TYPE distill_request_seconds summary\n");
        new TreeMap<>(nanos).forEach((k, v) -> {
            sb.append("distill_request_seconds_sum{endpoint=\"").append(k).append("\"} ").append(v.sum() / 1e9)
                    .append('\n');
            sb.append("distill_request_seconds_count{endpoint=\"").append(k).append("\"} ").append(timed.get(k).sum())
                    .append('\n');
        });
        sb.append("# TYPE distill_batches_total counter\ndistill_batches_total ").append(batches.sum()).append('\n');
        sb.append("# TYPE distill_batch_texts_total counter\ndistill_batch_texts_total ").append(batchTexts.sum())
                .append('\n');
        sb.append("# TYPE distill_batch_texts_max gauge\ndistill_batch_texts_max ").append(largestBatch.get()).append('\n');
        sb.append("# TYPE distill_queue_depth gauge\n");
        new TreeMap<>(queues).forEach((k, v) -> sb.append("distill_queue_depth{queue=\"").append(k).append("\"} ")
                .append(v.getAsInt()).append('\n'));
        return sb.toString();
    }
}
