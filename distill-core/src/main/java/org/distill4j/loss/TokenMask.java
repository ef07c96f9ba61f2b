package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Padding masks as float multipliers, so that losses over token positions ignore padding. */
final class TokenMask {

    private TokenMask() {}

    /** [batch, seq, 1]: 1 for real tokens, 0 for padding. */
    static NDArray perToken(NDArray attentionMask) {
        return attentionMask.toType(DataType.FLOAT32, false).expandDims(2);
    }

    /** [batch, 1, seq, seq]: 1 where both the query and the key are real tokens. */
    static NDArray perAttentionCell(NDArray attentionMask) {
        NDArray m = attentionMask.toType(DataType.FLOAT32, false);
        return m.expandDims(2).mul(m.expandDims(1)).expandDims(1);
    }

    /** Mean of {@code values} over the cells where {@code mask} is 1, {@code mask} broadcast to {@code values}. */
    static NDArray maskedMean(NDArray values, NDArray mask, long perCell) {
        return values.mul(mask).sum().div(mask.sum().mul(perCell));
    }
}
