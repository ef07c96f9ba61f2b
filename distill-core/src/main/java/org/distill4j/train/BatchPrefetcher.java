package org.distill4j.train;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.distill4j.DistillException;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * The micro-batches of a stage, by index over all its epochs: which examples each holds (fixed by
 * seed and epoch) and their tokens. The next batch is tokenized on a background thread while the
 * current one computes, so the device does not wait for the tokenizer.
 */
final class BatchPrefetcher implements AutoCloseable {

    private final LengthBucketSampler sampler;
    private final TrainingData data;
    private final BertTokenizer tokenizer;
    private final int perEpoch;
    private final int totalMicro;
    private final Map<Integer, List<int[]>> epochs = new HashMap<>();
    private final ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "distill4j-tokenize");
        t.setDaemon(true);
        return t;
    });
    /**
     * {@code -Ddistill4j.prefetch=false} tokenizes each batch on the training thread when it is
     * needed: a setting of the non-finite-gradient harness, which toggles one thread at a time.
     */
    private static final boolean PREFETCH = !"false".equals(System.getProperty("distill4j.prefetch"));
    private int pendingMicro = -1;
    private Future<TokenBatch> pending;

    BatchPrefetcher(LengthBucketSampler sampler, TrainingData data, BertTokenizer tokenizer, int totalMicro) {
        this.sampler = sampler;
        this.data = data;
        this.tokenizer = tokenizer;
        this.perEpoch = sampler.batchesPerEpoch();
        this.totalMicro = totalMicro;
    }

    /** The example indices of micro-batch {@code micro} (counted over all epochs). */
    int[] indices(int micro) {
        int epoch = micro / perEpoch;
        List<int[]> b = epochs.get(epoch);
        if (b == null) {
            epochs.keySet().removeIf(e -> e < epoch - 1);
            b = sampler.epoch(epoch);
            epochs.put(epoch, b);
        }
        return b.get(micro % perEpoch);
    }

    /** The tokens of micro-batch {@code micro}; starts tokenizing the one after. */
    TokenBatch take(int micro) {
        TokenBatch batch = null;
        if (pending != null) {
            TokenBatch ready = await();
            batch = pendingMicro == micro ? ready : null;
            pending = null;
        }
        if (batch == null) {
            batch = data.batch(tokenizer, indices(micro));
        }
        if (PREFETCH && micro + 1 < totalMicro) {
            int[] next = indices(micro + 1);
            pendingMicro = micro + 1;
            pending = pool.submit(() -> data.batch(tokenizer, next));
        }
        return batch;
    }

    /**
     * The tokens of micro-batch {@code micro} tokenized again, for an update computed a second
     * time; the batch in flight is left for {@link #take}.
     */
    TokenBatch again(int micro) {
        settle(); // the tokenizer is not shared with the background thread
        return data.batch(tokenizer, indices(micro));
    }

    /** How many examples micro-batches {@code [first, end)} hold. */
    int examples(int first, int end) {
        int n = 0;
        for (int micro = first; micro < end; micro++) {
            n += indices(micro).length;
        }
        return n;
    }

    /** Waits for the batch in flight, if any (keeping it for {@link #take}): the tokenizer is then free. */
    void settle() {
        if (pending != null) {
            await();
        }
    }

    private TokenBatch await() {
        try {
            return pending.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistillException("interrupted while tokenizing a batch", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r
                    : new DistillException("tokenizing a batch failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
        // A run that ends by an exception can leave a batch in flight; the caller closes the
        // tokenizer next, and a native tokenizer freed under a running encode is undefined
        // behaviour, so wait for it (one batch: milliseconds).
        try {
            if (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
                System.err.println("warning: the background tokenizer did not stop within a minute");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
