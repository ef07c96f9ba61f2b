package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

/** A fully connected layer, {@code y = x W^T + b}, with the weight stored [out, in] as in PyTorch. */
public final class Dense extends BertModule implements LinearProjection {

    private final int in;
    private final int out;
    private final Parameter weight;
    private final Parameter bias;

    public Dense(int in, int out) {
        this.in = in;
        this.out = out;
        this.weight = param("weight", new Shape(out, in), BERT_INIT, Parameter.Type.WEIGHT);
        this.bias = param("bias", new Shape(out), Initializer.ZEROS, Parameter.Type.BIAS);
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        return Linear.linear(x, value(ps, weight, x, training), value(ps, bias, x, training)).singletonOrThrow();
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }
}
