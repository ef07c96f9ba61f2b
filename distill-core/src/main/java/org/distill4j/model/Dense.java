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
        return linear(x, value(ps, weight, x, training), value(ps, bias, x, training));
    }

    /**
     * {@code x W^T + b} over the last axis of {@code x}, of any rank. DJL reaches libtorch's C++
     * {@code nn::functional::linear}, which fuses the bias into the matrix product ({@code addmm})
     * only for 2-D input and otherwise multiplies and then adds: a separate pass over the output,
     * and in a profiled distillation step a quarter more time in matrix products than PyTorch's.
     * So the input is flattened to 2-D, as PyTorch's own {@code F.linear} does.
     */
    static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (x.getShape().dimension() <= 2) {
            return Linear.linear(x, weight, bias).singletonOrThrow();
        }
        long[] shape = x.getShape().getShape().clone(); // getShape() hands out the array x's Shape keeps
        NDArray flat = x.reshape(-1, shape[shape.length - 1]);
        NDArray y = Linear.linear(flat, weight, bias).singletonOrThrow();
        shape[shape.length - 1] = weight.getShape().get(0);
        NDArray out = y.reshape(shape);
        release(flat, y);
        return out;
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
