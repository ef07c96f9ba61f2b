package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * A learned linear map {@code y = x W^T + b} from {@link #in()} to {@link #out()} features. Every
 * projection of the encoder and its heads is read through this interface, so an adapter (a
 * low-rank update, fake quantization) can wrap a {@link Dense} in place with
 * {@link BertModule#replace} and the layer's forward pass runs through it.
 */
public interface LinearProjection {

    /** @param x [..., in]; returns [..., out] */
    NDArray forward(ParameterStore ps, NDArray x, boolean training);

    int in();

    int out();
}
