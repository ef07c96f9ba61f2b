package org.distill4j.serve;

import org.distill4j.text.TokenBatch;

/**
 * One engine's forward pass over a padded batch. Implementations are thread-safe: calls from
 * several threads run concurrently on one loaded model.
 */
interface EncoderBackend extends AutoCloseable {

    /** The last hidden state, [batch, seq, hidden] row-major. */
    float[] lastHidden(TokenBatch batch);

    /** The task head's outputs, [batch, outputs] row-major; only when {@link #outputs()} > 0. */
    float[] logits(TokenBatch batch);

    int hiddenSize();

    /** Task-head outputs: labels of a classifier, 1 for a regression head, 0 without a head. */
    int outputs();

    Backend kind();

    @Override
    void close();
}
