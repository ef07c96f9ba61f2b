package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic of a tensor with a constant, safe when autograd keeps the constant for the backward
 * pass. Use these instead of DJL's {@code NDArray.mul(Number)}, {@code div(Number)} and
 * {@code maximum(Number)} on anything a gradient flows through.
 *
 * <p>DJL's Number overloads put the constant in a 0-d tensor that PyTorch reads in place from a
 * Java direct buffer, and close that tensor as soon as the op returns. Autograd keeps it for the
 * backward pass of {@code mul}, {@code div} and {@code maximum}, but nothing keeps the buffer:
 * once the garbage collector frees it, the backward pass reads whatever the memory holds by then.
 * That was the cause of distill4j's sporadic non-finite (and, as often, silently wrong) gradients;
 * see docs/results/reliability.md. Here PyTorch makes the constant ({@code full}), in memory that
 * autograd's reference keeps alive.
 */
public final class Scalar {

    private Scalar() {}

    /** {@code x · c}. */
    public static NDArray mul(NDArray x, float c) {
        try (NDArray k = of(x, c)) {
            return x.mul(k);
        }
    }

    /** {@code x / c}. */
    public static NDArray div(NDArray x, float c) {
        try (NDArray k = of(x, c)) {
            return x.div(k);
        }
    }

    /** {@code max(x, c)}, element by element. */
    public static NDArray max(NDArray x, float c) {
        try (NDArray k = of(x, c)) {
            return x.maximum(k);
        }
    }

    /** A 0-d tensor holding {@code c}, owned by PyTorch, on {@code like}'s manager and of its type. */
    private static NDArray of(NDArray like, float c) {
        return like.getManager().full(new Shape(), c, like.getDataType());
    }
}
