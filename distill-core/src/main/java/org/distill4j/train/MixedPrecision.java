package org.distill4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.model.BertModel;

/**
 * Mixed-precision training with fp32 master weights. The encoders run on half-precision working
 * copies of their weights (handed out by {@link #store}); the optimizer updates the fp32 masters
 * from the working copies' gradients, unscaled, and {@link #refresh} copies the new masters back.
 *
 * <p>Why working copies rather than casting weights inside the forward pass: DJL's PyTorch
 * engine casts under {@code NoGradGuard}, so a cast is invisible to autograd and a gradient could
 * never reach an fp32 weight through it. Going up is possible (type promotion: half + float is
 * float), which is how the encoder returns fp32 hidden states; heads, projections and losses then
 * run in fp32 on the masters ({@code BertModule.value} picks the master when the activations are
 * fp32).
 */
public final class MixedPrecision implements AutoCloseable {

    private final DataType type;
    private final NDManager manager;
    private final Map<String, Parameter> trainable;
    private final Map<Parameter, NDArray> working = new IdentityHashMap<>();
    private final Map<String, NDArray> trainableWorking = new LinkedHashMap<>();
    private final LossScaler scaler = LossScaler.standard();

    /**
     * @param trainable every trained parameter by name (student and loss terms); those that belong
     *     to one of {@code models} get working copies that take gradients
     * @param models the models whose forward passes run in half precision: the student and the
     *     frozen teacher (whose working copies take no gradients)
     */
    public MixedPrecision(Precision precision, Map<String, Parameter> trainable, List<BertModel> models,
            NDManager parent) {
        if (precision == Precision.FP32) {
            throw new IllegalArgumentException("fp32 training needs no working copies");
        }
        this.type = precision.dataType();
        this.manager = parent.newSubManager();
        this.trainable = new LinkedHashMap<>(trainable);
        Map<Parameter, String> names = new IdentityHashMap<>();
        trainable.forEach((name, p) -> names.put(p, name));
        for (BertModel model : models) {
            for (Parameter p : model.namedParameters().values()) {
                NDArray w = copy(p);
                String name = names.get(p);
                if (name != null && !trainableWorking.containsKey(name)) {
                    w.setRequiresGradient(true);
                    trainableWorking.put(name, w);
                }
            }
        }
    }

    private NDArray copy(Parameter p) {
        return working.computeIfAbsent(p, k -> {
            NDArray w = k.getArray().toType(type, true);
            w.attach(manager);
            return w;
        });
    }

    /** A parameter store that hands out the working copies (and the masters of everything else). */
    public ParameterStore store() {
        return new ParameterStore(manager, false) {
            @Override
            public NDArray getValue(Parameter parameter, Device device, boolean training) {
                NDArray w = working.get(parameter);
                return w != null ? w : super.getValue(parameter, device, training);
            }
        };
    }

    public LossScaler scaler() {
        return scaler;
    }

    /**
     * The fp32 gradient of every trainable parameter: its master's own (heads, projections, the
     * tied decoder) plus its working copy's, divided by the loss scale. Owned by {@code tmp}.
     */
    public Map<String, NDArray> gradients(NDManager tmp) {
        float inv = 1f / scaler.scale();
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
            NDArray g = e.getValue().getArray().getGradient();
            g.attach(tmp);
            NDArray w = trainableWorking.get(e.getKey());
            if (w != null) {
                NDArray wg = w.getGradient();
                wg.attach(tmp);
                g = g.add(wg.toType(DataType.FLOAT32, false));
            }
            g = g.mul(inv);
            g.attach(tmp);
            grads.put(e.getKey(), g);
        }
        return grads;
    }

    /** Clears the gradients of the working copies (the optimizer clears the masters'). */
    public void zeroGradients() {
        for (NDArray w : trainableWorking.values()) {
            ai.djl.pytorch.jni.JniUtils.zeroGrad((ai.djl.pytorch.engine.PtNDArray) w);
        }
    }

    /** Copies the masters into the working copies, after an update or a restore. */
    public void refresh() {
        for (Map.Entry<String, NDArray> e : trainableWorking.entrySet()) {
            e.getValue().set(new NDIndex("..."), trainable.get(e.getKey()).getArray());
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
