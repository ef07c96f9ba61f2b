package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter 2019), as BERT fine-tuning uses it: no
 * decay on biases and LayerNorm weights, gradients clipped to a global L2 norm first. Written here
 * rather than using DJL's {@code Adam} because its moments are private, and a resumed run must
 * restore them exactly ({@link #save}, {@link #load}).
 *
 * <p>Call {@link #step} after the {@code GradientCollector} has closed: the in-place parameter
 * updates must not be recorded by autograd. The step also zeroes every gradient, since PyTorch
 * accumulates gradients across backward passes.
 */
public final class AdamW implements AutoCloseable {

    private final Map<String, Parameter> params;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final NDManager state;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private int steps;
    private List<String> skipped = List.of();

    /**
     * @param params trainable parameters by name (frozen ones left out)
     * @param parent manager under which the optimizer state lives
     */
    public AdamW(Map<String, Parameter> params, float weightDecay, NDManager parent) {
        this(params, 0.9f, 0.999f, 1e-6f, weightDecay, parent);
    }

    public AdamW(Map<String, Parameter> params, float beta1, float beta2, float eps, float weightDecay,
            NDManager parent) {
        this(params, beta1, beta2, eps, weightDecay, parent, SLICE);
    }

    /** @param slice elements of a parameter updated at once (see {@link #SLICE}) */
    AdamW(Map<String, Parameter> params, float beta1, float beta2, float eps, float weightDecay, NDManager parent,
            long slice) {
        this.slice = slice;
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.state = parent.newSubManager();
        for (Map.Entry<String, Parameter> e : this.params.entrySet()) {
            NDArray w = e.getValue().getArray();
            m.put(e.getKey(), state.zeros(w.getShape(), w.getDataType(), w.getDevice()));
            v.put(e.getKey(), state.zeros(w.getShape(), w.getDataType(), w.getDevice()));
        }
    }

    /** BERT's convention: biases and LayerNorm weights are not decayed. */
    static boolean decays(String name) {
        return !name.endsWith(".bias") && !name.contains("LayerNorm");
    }

    /**
     * One update with learning rate {@code lr} from the parameters' own gradients. If any gradient
     * is not finite, nothing is updated, the gradients are cleared, the step is not counted, and
     * the returned norm is not finite; {@link #nonFiniteParameters} then names the parameters at fault.
     *
     * @param maxGradNorm clip the global gradient norm to this (0 for no clipping)
     * @return the global gradient norm before clipping
     */
    public float step(float lr, float maxGradNorm) {
        try (NDManager tmp = state.newSubManager()) {
            return step(lr, maxGradNorm, parameterGradients(tmp));
        }
    }

    /**
     * The global L2 norm of the parameters' own gradients, updating and clearing nothing; when it
     * is not finite, {@link #nonFiniteParameters} names the parameters at fault.
     */
    public float gradientNorm() {
        try (NDManager tmp = state.newSubManager()) {
            return gradientNorm(parameterGradients(tmp));
        }
    }

    /** Handles to the parameters' gradients, freed with {@code tmp}. */
    private Map<String, NDArray> parameterGradients(NDManager tmp) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray g = e.getValue().getArray().getGradient();
            g.attach(tmp); // the handle is new and owned by the parameter's manager: free it with tmp
            grads.put(e.getKey(), g);
        }
        return grads;
    }

    /**
     * One update from the given fp32 gradients, one per parameter (mixed precision computes them
     * from working copies); as {@link #step(float, float)} otherwise. Clears the parameters' own
     * gradients either way.
     */
    public float step(float lr, float maxGradNorm, Map<String, NDArray> grads) {
        steps++;
        try (NDManager tmp = state.newSubManager()) {
            float norm = gradientNorm(grads);
            if (!Float.isFinite(norm)) {
                // Skip the update, as mixed-precision loss scaling does: one bad batch must not
                // poison the weights. The caller decides how many skips in a row are too many.
                steps--;
                zeroGradients();
                return norm;
            }
            float scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6f) : 1f;
            float bc1 = 1 - (float) Math.pow(beta1, steps);
            float bc2 = 1 - (float) Math.pow(beta2, steps);
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                String name = e.getKey();
                NDArray w = e.getValue().getArray();
                boolean decay = weightDecay > 0 && decays(name);
                for (long[] rows : slices(w)) {
                    try (NDManager slice = tmp.newSubManager()) {
                        update(part(w, rows, slice), part(grads.get(name), rows, slice), part(m.get(name), rows, slice),
                                part(v.get(name), rows, slice), slice, lr, scale, bc1, bc2, decay);
                    }
                }
                JniUtils.zeroGrad((PtNDArray) w);
            }
            return norm;
        }
    }

    /**
     * AdamW on one slice of a parameter, in place: every temporary lives in {@code slice}. The
     * arithmetic is elementwise, so a slice computes exactly what the whole tensor would.
     */
    private void update(NDArray w, NDArray grad, NDArray m, NDArray v, NDManager slice, float lr, float scale,
            float bc1, float bc2, boolean decay) {
        NDArray g = grad.mul(scale);
        g.attach(slice); // results take the manager of their first operand: keep them temporary
        m.muli(beta1).addi(g.mul(1 - beta1));
        v.muli(beta2).addi(g.square().muli(1 - beta2));
        NDArray denom = v.sqrt();
        denom.attach(slice);
        denom.divi((float) Math.sqrt(bc2)).addi(eps);
        NDArray update = m.div(denom);
        update.attach(slice);
        if (decay) {
            w.muli(1 - lr * weightDecay);
        }
        w.subi(update.muli(lr / bc1));
    }

    /**
     * Elements of a parameter updated at once, by default. A step makes several temporaries the size of what it
     * updates; for the word embeddings (BERT's vocabulary × hidden, 47 MB at width 384) each would be
     * above glibc's 32 MB mmap threshold, so every one was a fresh mapping the kernel had to fault in
     * and then unmap, step after step. Slices of 4 MB are reused from the heap instead.
     */
    static final long SLICE = 1 << 20;

    private final long slice;

    /** Row ranges {@code [from, to)} of the first axis that split {@code w} into slices of at most {@code slice} elements. */
    private List<long[]> slices(NDArray w) {
        long size = w.size();
        if (size <= slice || w.getShape().dimension() == 0) {
            return List.of(new long[0]); // the whole tensor
        }
        long rows = w.getShape().get(0);
        long perRow = size / rows;
        long step = Math.max(1, slice / perRow);
        List<long[]> out = new ArrayList<>();
        for (long from = 0; from < rows; from += step) {
            out.add(new long[] {from, Math.min(rows, from + step)});
        }
        return out;
    }

    /** A view of rows {@code [from, to)} of {@code a} (or {@code a} itself for the whole), freed with {@code scope}. */
    private static NDArray part(NDArray a, long[] rows, NDManager scope) {
        if (rows.length == 0) {
            return a;
        }
        NDArray view = a.get(new NDIndex("{}:{}", rows[0], rows[1]));
        view.attach(scope);
        return view;
    }

    /** The global L2 norm of {@code grads} (one per parameter); records the non-finite ones. */
    private float gradientNorm(Map<String, NDArray> grads) {
        double[] sq = squaredNorms(grads);
        double sumSq = 0;
        List<String> nonFinite = new ArrayList<>();
        int i = 0;
        for (String name : params.keySet()) {
            if (!Double.isFinite(sq[i])) {
                try (NDArray max = grads.get(name).abs().max()) {
                    nonFinite.add(name + " (max |g| " + max.getFloat() + ")");
                }
            }
            sumSq += sq[i++];
        }
        float norm = (float) Math.sqrt(sumSq);
        skipped = nonFinite.isEmpty() && Float.isFinite(norm) ? List.of() : List.copyOf(nonFinite);
        return norm;
    }

    /**
     * Each parameter's squared gradient norm, in {@link #names} order, updating and clearing nothing:
     * what the non-finite-gradient harness compares, bit for bit, between computations of one update.
     */
    public double[] gradientSquares() {
        try (NDManager tmp = state.newSubManager()) {
            return squaredNorms(parameterGradients(tmp));
        }
    }

    /** The parameters' names, in the order of {@link #gradientSquares}. */
    public List<String> names() {
        return List.copyOf(params.keySet());
    }

    /** Each parameter's squared gradient norm, summed in double on the device and read back once. */
    private double[] squaredNorms(Map<String, NDArray> grads) {
        try (NDManager tmp = state.newSubManager()) {
            // In double: a float sum overflows long before the norm itself would; one read for all
            // parameters, as one read per parameter would stall a GPU each time.
            NDList squares = new NDList(params.size());
            for (String name : params.keySet()) {
                NDArray g = grads.get(name);
                if (g == null) {
                    throw new IllegalArgumentException("no gradient for parameter " + name);
                }
                NDArray sq = null;
                for (long[] rows : slices(g)) {
                    try (NDManager slice = tmp.newSubManager()) {
                        NDArray part = part(g, rows, slice).toType(DataType.FLOAT64, false).square().sum();
                        part.attach(tmp);
                        sq = sq == null ? part : sq.add(part);
                    }
                }
                sq.attach(tmp);
                squares.add(sq);
            }
            NDArray stacked = NDArrays.stack(squares);
            stacked.attach(tmp);
            return stacked.toDoubleArray();
        }
    }

    /** Clears every gradient without updating anything (a skipped update). */
    public void zeroGradients() {
        for (Parameter p : params.values()) {
            JniUtils.zeroGrad((PtNDArray) p.getArray());
        }
    }

    /** After a skipped step: the parameters whose gradients were not finite, with their largest magnitude. */
    public List<String> nonFiniteParameters() {
        return skipped;
    }

    /** Number of parameters it updates. */
    public int size() {
        return params.size();
    }

    /** Number of updates applied so far. */
    public int steps() {
        return steps;
    }

    /** Writes the moments and step count, so a resumed run continues exactly. */
    public void save(Path file) {
        StateDict dict = new StateDict("optimizer state");
        for (String name : params.keySet()) {
            dict.put("m." + name, Tensor.of(m.get(name)));
            dict.put("v." + name, Tensor.of(v.get(name)));
        }
        Safetensors.write(dict, file, Map.of("steps", Integer.toString(steps)));
    }

    /** Restores what {@link #save} wrote. */
    public void load(Path file, int stepsDone) {
        StateDict dict = Safetensors.read(file);
        for (String name : params.keySet()) {
            Tensor tm = dict.get("m." + name);
            Tensor tv = dict.get("v." + name);
            if (tm == null || tv == null) {
                throw new DistillException(file + ": no optimizer state for parameter '" + name + "'");
            }
            StateDict.assign(m.get(name), tm);
            StateDict.assign(v.get(name), tv);
        }
        this.steps = stepsDone;
    }

    @Override
    public void close() {
        state.close();
    }
}
