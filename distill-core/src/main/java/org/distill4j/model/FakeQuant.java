package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * The rounding of the int8 ONNX export ({@code ./distill export --int8}) applied in fp32 during
 * training, with the gradient passed straight through (Q8BERT, Zafrir et al. 2019): the forward pass
 * sees the quantized value, the backward pass treats rounding as the identity. Weights are rounded as
 * the export stores them (symmetric int8 in ±127, scale max|w| / 127 per output row or per matrix),
 * activations as ONNX's {@code DynamicQuantizeLinear} rounds them at run time (uint8, scale and zero
 * point from the tensor's own range, ties to even).
 */
public final class FakeQuant {

    private FakeQuant() {}

    /**
     * {@code w} rounded to symmetric int8 and back: one scale for each vector along the last axis
     * ({@code perRow}: a weight's output row, a word's embedding) or one for the whole tensor.
     */
    public static NDArray symmetric(NDArray w, boolean perRow) {
        NDArray noise = GradMode.off(() -> {
            NDArray abs = w.abs();
            NDArray max = perRow ? abs.max(new int[] {-1}, true) : abs.max();
            NDArray raw = max.div(127f);
            // An all-zero row stays zero at any positive scale; the export then writes scale 1.
            NDArray scale = raw.maximum(Float.MIN_NORMAL);
            NDArray d = roundingError(w, scale, null, -127, 127);
            BertModule.release(abs, max, raw, scale);
            return d;
        });
        return straightThrough(w, noise);
    }

    /**
     * {@code x} through {@code DynamicQuantizeLinear} and back: the range [min(0, min x), max(0, max x)]
     * mapped onto 0..255 with the zero point rounded to an integer, as ONNX Runtime quantizes an
     * activation before {@code MatMulInteger}.
     */
    public static NDArray dynamicUint8(NDArray x) {
        NDArray noise = GradMode.off(() -> {
            NDArray lo0 = x.min();
            NDArray hi0 = x.max();
            NDArray lo = lo0.minimum(0f);
            NDArray hi = hi0.maximum(0f);
            NDArray span = hi.sub(lo);
            NDArray raw = span.div(255f);
            NDArray scale = raw.maximum(Float.MIN_NORMAL);
            NDArray negLo = lo.neg();
            NDArray zpRaw = negLo.div(scale);
            NDArray zpClip = clip(zpRaw, 0, 255);
            NDArray zp = zpClip.round(); // saturate, then round: the operator's order
            NDArray d = roundingError(x, scale, zp, 0, 255);
            BertModule.release(lo0, hi0, lo, hi, span, raw, scale, negLo, zpClip, zp);
            return d;
        });
        return straightThrough(x, noise);
    }

    /**
     * {@code (clip(round(v / scale) + zp, lo, hi) - zp) · scale - v}, the rounding error, with grad
     * mode already off. In place where PyTorch allows: three arrays of v's size, at most two alive.
     */
    private static NDArray roundingError(NDArray v, NDArray scale, NDArray zp, int lo, int hi) {
        NDArray div = v.div(scale);
        NDArray r = div.round(); // PyTorch rounds ties to even, as ONNX does
        div.close();
        if (zp != null) {
            r.addi(zp);
        }
        NDArray q = clip(r, lo, hi);
        if (zp != null) {
            q.subi(zp);
        }
        return q.muli(scale).subi(v);
    }

    /**
     * {@code v} clipped to [lo, hi], and {@code v} closed. DJL's own {@code clip} makes its two bounds
     * as arrays of {@code v}'s manager and never closes them: for a weight, whose manager is the
     * model's, that kept two arrays per projection per update for the life of the model. Here they
     * are made in a scratch manager that is closed.
     */
    private static NDArray clip(NDArray v, int lo, int hi) {
        NDManager owner = v.getManager();
        try (NDManager scratch = owner.newSubManager()) {
            v.attach(scratch);
            NDArray q = v.clip(lo, hi);
            q.attach(owner);
            return q;
        }
    }

    /**
     * {@code v + noise}, where the noise (the rounding error, computed without autograd) is a
     * constant: the forward value is the rounded one and the gradient reaches {@code v} unchanged.
     */
    private static NDArray straightThrough(NDArray v, NDArray noise) {
        NDArray out = v.add(noise);
        noise.close();
        return out;
    }
}
