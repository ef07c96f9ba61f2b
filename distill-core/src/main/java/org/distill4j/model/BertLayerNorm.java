package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

/** LayerNorm over the last axis with HuggingFace parameter names ({@code weight}, {@code bias}). */
public final class BertLayerNorm extends BertModule {

    private final Shape normalized;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    public BertLayerNorm(int size, float eps) {
        this.normalized = new Shape(size);
        this.eps = eps;
        this.weight = param("weight", normalized, Initializer.ONES, Parameter.Type.GAMMA);
        this.bias = param("bias", normalized, Initializer.ZEROS, Parameter.Type.BETA);
    }

    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        return LayerNorm.layerNorm(x, normalized, value(ps, weight, x, training), value(ps, bias, x, training), eps)
                .singletonOrThrow();
    }
}
