package org.distill4j.serve;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.IntConsumer;

/**
 * Runs requests that arrive together as one batch: one worker takes the oldest request, waits up
 * to {@code maxDelay} for others until {@code maxBatch} texts, runs them in one call and hands each
 * request its rows. The queue is bounded: {@link #submit} refuses work when it is full instead of
 * letting memory grow.
 *
 * @param <R> one text's result
 */
final class MicroBatcher<R> implements AutoCloseable {

    /** Thrown by {@link #submit} when the queue is full or the batcher is closing. */
    static final class Overloaded extends RuntimeException {
        Overloaded(String message) {
            super(message);
        }
    }

    private record Job<R>(List<String> first, List<String> second, CompletableFuture<List<R>> result) {}

    private final int maxBatch;
    private final long maxDelayNanos;
    private final BlockingQueue<Job<R>> queue;
    private final BiFunction<List<String>, List<String>, List<R>> run;
    private final IntConsumer batchObserver;
    private final Thread worker;
    private volatile boolean closing;
    private Job<R> carried;

    /**
     * @param run the model call for concatenated texts (second texts: null entries for single texts)
     * @param batchObserver told the number of texts of every batch run
     */
    MicroBatcher(String name, int maxBatch, Duration maxDelay, int maxQueue,
            BiFunction<List<String>, List<String>, List<R>> run, IntConsumer batchObserver) {
        this.maxBatch = maxBatch;
        this.maxDelayNanos = maxDelay.toNanos();
        this.queue = new ArrayBlockingQueue<>(maxQueue);
        this.run = run;
        this.batchObserver = batchObserver;
        this.worker = new Thread(this::loop, "batcher-" + name);
        worker.setDaemon(true);
        worker.start();
    }

    /** Queues texts (at most {@code maxBatch}); the future completes with one result per text. */
    CompletableFuture<List<R>> submit(List<String> first, List<String> second) {
        if (first.size() > maxBatch) {
            throw new IllegalArgumentException(first.size() + " inputs; at most " + maxBatch + " per request");
        }
        if (closing) {
            throw new Overloaded("the server is shutting down");
        }
        Job<R> job = new Job<>(first, second, new CompletableFuture<>());
        if (!queue.offer(job)) {
            throw new Overloaded("the request queue is full (" + (queue.size() + queue.remainingCapacity())
                    + " requests); retry later");
        }
        return job.result;
    }

    /** Requests waiting. */
    int queued() {
        return queue.size();
    }

    private void loop() {
        while (true) {
            Job<R> first;
            try {
                first = carried != null ? carried : queue.poll(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            carried = null;
            if (first == null) {
                if (closing && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            List<Job<R>> jobs = new ArrayList<>();
            jobs.add(first);
            int texts = first.first.size();
            long deadline = System.nanoTime() + maxDelayNanos;
            while (texts < maxBatch) {
                long left = deadline - System.nanoTime();
                Job<R> next;
                try {
                    next = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
                } catch (InterruptedException e) {
                    break;
                }
                if (next == null) {
                    break;
                }
                if (texts + next.first.size() > maxBatch) {
                    carried = next; // starts the next batch
                    break;
                }
                jobs.add(next);
                texts += next.first.size();
            }
            runBatch(jobs, texts);
        }
    }

    private void runBatch(List<Job<R>> jobs, int texts) {
        List<String> first = new ArrayList<>(texts);
        List<String> second = new ArrayList<>(texts);
        for (Job<R> j : jobs) {
            first.addAll(j.first);
            for (int i = 0; i < j.first.size(); i++) {
                second.add(j.second == null ? null : j.second.get(i));
            }
        }
        try {
            List<R> rows = run.apply(first, second);
            batchObserver.accept(texts);
            int at = 0;
            for (Job<R> j : jobs) {
                j.result.complete(List.copyOf(rows.subList(at, at + j.first.size())));
                at += j.first.size();
            }
        } catch (RuntimeException | Error e) {
            for (Job<R> j : jobs) {
                j.result.completeExceptionally(e);
            }
        }
    }

    /** Refuses new work, finishes everything queued, and stops the worker. */
    @Override
    public void close() {
        closing = true;
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
