package org.distill4j.model;

import ai.djl.ndarray.NDArray;

/**
 * A tokenized batch on the device.
 *
 * @param inputIds [batch, seq] int64 word-piece ids
 * @param tokenTypeIds [batch, seq] int64 segment ids (0 for the first text, 1 for the second)
 * @param attentionMask [batch, seq] int64, 1 for real tokens and 0 for padding
 */
public record EncoderInput(NDArray inputIds, NDArray tokenTypeIds, NDArray attentionMask) {

    public long batchSize() {
        return inputIds.getShape().get(0);
    }

    public long sequenceLength() {
        return inputIds.getShape().get(1);
    }
}
