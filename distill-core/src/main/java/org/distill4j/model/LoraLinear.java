package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.UniformInitializer;

/**
 * A low-rank adapter on a linear projection (LoRA): {@code y = base(x) + (alpha / r) · dropout(x) Aᵀ Bᵀ},
 * with A [r, in] and B [out, r]. A starts as PEFT starts it (Kaiming-uniform with a = √5, i.e.
 * uniform in ±1/√in) and B at zero, so a fresh adapter leaves the outputs unchanged. The base
 * projection keeps its parameter names ({@code weight}, {@code bias}); the adapter's are
 * {@code lora_A.weight} and {@code lora_B.weight}, PEFT's names under the same module path.
 */
public final class LoraLinear extends BertModule implements LinearProjection {

    private final BertModule base;
    private final Parameter a;
    private final Parameter b;
    private final int rank;
    private final float alpha;
    private final float dropout;

    /**
     * @param base the projection to adapt (a {@link Dense}, usually frozen)
     * @param rank r, the adapter's inner width
     * @param alpha the update is scaled by alpha / r
     * @param dropout dropout on the adapter's input in training
     */
    public LoraLinear(BertModule base, int rank, float alpha, float dropout) {
        if (!(base instanceof LinearProjection p)) {
            throw new IllegalArgumentException("LoRA adapts a linear projection, not " + base.getClass().getSimpleName());
        }
        if (rank < 1 || rank > Math.min(p.in(), p.out())) {
            throw new IllegalArgumentException("LoRA rank must be 1.." + Math.min(p.in(), p.out()) + " for a "
                    + p.in() + " -> " + p.out() + " projection, got " + rank);
        }
        this.base = base;
        this.rank = rank;
        this.alpha = alpha;
        this.dropout = dropout;
        child("", base);
        this.a = param("lora_A.weight", new Shape(rank, p.in()), new UniformInitializer((float) (1 / Math.sqrt(p.in()))),
                Parameter.Type.WEIGHT);
        this.b = param("lora_B.weight", new Shape(p.out(), rank), Initializer.ZEROS, Parameter.Type.WEIGHT);
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray y = ((LinearProjection) base).forward(ps, x, training);
        NDArray in = DropoutMasks.dropout(x, dropout, training);
        NDArray low = Dense.linear(in, value(ps, a, x, training), null);
        NDArray up = Dense.linear(low, value(ps, b, x, training), null);
        NDArray scaled = Scalar.mul(up, scale());
        NDArray out = y.add(scaled);
        if (in != x) {
            release(in);
        }
        release(y, low, up, scaled);
        return out;
    }

    /** alpha / r. */
    public float scale() {
        return alpha / rank;
    }

    /** The update {@code (alpha / r) · B A}, [out, in]: what merging adds to the base weight. */
    public NDArray delta() {
        NDArray ba = b.getArray().matMul(a.getArray());
        NDArray d = Scalar.mul(ba, scale());
        ba.close();
        return d;
    }

    /** The adapted projection. */
    public BertModule base() {
        return base;
    }

    /**
     * The base weight with the update folded in, {@code W + (alpha / r) · B A}, [out, in], as a new
     * array in the base weight's manager: what a merged model holds.
     */
    public NDArray mergedWeight() {
        if (!(base instanceof Dense d)) {
            throw new IllegalStateException("only an adapter on a Dense projection can be merged, not on "
                    + base.getClass().getSimpleName());
        }
        NDArray delta = delta();
        NDArray merged = d.weight().getArray().add(delta);
        delta.close();
        return merged;
    }

    public int rank() {
        return rank;
    }

    public float alpha() {
        return alpha;
    }

    public Parameter loraA() {
        return a;
    }

    public Parameter loraB() {
        return b;
    }

    @Override
    public int in() {
        return ((LinearProjection) base).in();
    }

    @Override
    public int out() {
        return ((LinearProjection) base).out();
    }
}
