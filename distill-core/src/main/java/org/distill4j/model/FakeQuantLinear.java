package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * A {@link Dense} projection trained for int8 (quantization-aware training): its input is rounded
 * as {@code DynamicQuantizeLinear} rounds it and its weight as the int8 export stores it, so that
 * the loss, and the dev score the best model is chosen by, are those of the exported int8 model. The
 * wrapped projection keeps its parameter names, so the model saves and loads as a plain one.
 */
public final class FakeQuantLinear extends BertModule implements LinearProjection {

    private final Dense base;
    private final boolean perTensor;

    /**
     * @param base the projection
     * @param perTensor one weight scale per matrix, as {@code export --int8 --per-tensor}; else one
     *     per output column of the exported matrix (a row of ours)
     */
    public FakeQuantLinear(BertModule base, boolean perTensor) {
        if (!(base instanceof Dense d)) {
            throw new IllegalArgumentException("quantization-aware training wraps a plain projection, not "
                    + base.getClass().getSimpleName() + " (LoRA adapters and int8 training do not combine yet)");
        }
        this.base = d;
        this.perTensor = perTensor;
        child("", base);
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray xq = FakeQuant.dynamicUint8(x);
        NDArray wq = FakeQuant.symmetric(value(ps, base.weight(), x, training), !perTensor);
        NDArray out = Dense.linear(xq, wq, value(ps, base.bias(), x, training));
        release(xq, wq);
        return out;
    }

    /** The wrapped projection. */
    public Dense base() {
        return base;
    }

    public boolean perTensor() {
        return perTensor;
    }

    @Override
    public int in() {
        return base.in();
    }

    @Override
    public int out() {
        return base.out();
    }
}
