package org.distill4j.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.distill4j.model.EncoderInput;

/**
 * A padded batch of token ids on the Java heap, [batch, seq] row-major.
 *
 * @param inputIds word-piece ids, padded with the tokenizer's pad id
 * @param tokenTypeIds segment ids
 * @param attentionMask 1 for real tokens, 0 for padding
 * @param batchSize number of rows
 * @param sequenceLength padded length of every row
 */
public record TokenBatch(long[] inputIds, long[] tokenTypeIds, long[] attentionMask, int batchSize,
        int sequenceLength) {

    /** Copies the batch into int64 arrays owned by {@code manager}. */
    public EncoderInput toInput(NDManager manager) {
        Shape s = new Shape(batchSize, sequenceLength);
        NDArray ids = manager.create(inputIds, s);
        NDArray types = manager.create(tokenTypeIds, s);
        NDArray mask = manager.create(attentionMask, s);
        return new EncoderInput(ids, types, mask);
    }

    /** Number of real (non-padding) tokens in row {@code i}. */
    public int length(int i) {
        int n = 0;
        for (int j = 0; j < sequenceLength; j++) {
            n += (int) attentionMask[i * sequenceLength + j];
        }
        return n;
    }

    /** Row {@code i}'s ids without padding. */
    public long[] ids(int i) {
        long[] out = new long[length(i)];
        System.arraycopy(inputIds, i * sequenceLength, out, 0, out.length);
        return out;
    }
}
