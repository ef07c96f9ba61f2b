package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * How much of the encoder a forward pass runs and what it masks.
 *
 * @param headMask [layers, heads] multipliers of each head's attention probabilities, or null.
 *     Used by DynaBERT to measure head importance (gradient with respect to this mask).
 * @param ffnMask [layers, intermediate] multipliers of each feed-forward neuron, or null
 * @param layers indices of the layers to run, in order, or null for all. Masks are indexed
 *     by the original layer index.
 */
public record ForwardOptions(NDArray headMask, NDArray ffnMask, int[] layers) {

    /** Run every layer, mask nothing. */
    public static final ForwardOptions ALL = new ForwardOptions(null, null, null);

    /** Run only the given layers, in the given order. */
    public static ForwardOptions layers(int... layers) {
        return new ForwardOptions(null, null, layers.clone());
    }

    public ForwardOptions withHeadMask(NDArray mask) {
        return new ForwardOptions(mask, ffnMask, layers);
    }

    public ForwardOptions withFfnMask(NDArray mask) {
        return new ForwardOptions(headMask, mask, layers);
    }

    @Override
    public String toString() {
        return "ForwardOptions[headMask=" + (headMask != null) + ", ffnMask=" + (ffnMask != null) + ", layers="
                + Arrays.toString(layers) + "]";
    }
}
