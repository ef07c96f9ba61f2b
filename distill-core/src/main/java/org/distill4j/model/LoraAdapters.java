package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The low-rank adapters on one model: which projections carry one, what trains beside them, and
 * folding them into the weights. The backbone is frozen; the adapters, the task head and, when the
 * config says so, biases and LayerNorms train.
 */
public final class LoraAdapters {

    private final LoraConfig config;
    private final Map<String, LoraLinear> adapters;

    private LoraAdapters(LoraConfig config, Map<String, LoraLinear> adapters) {
        this.config = config;
        this.adapters = Map.copyOf(adapters);
    }

    /**
     * Puts an adapter on every encoder projection that {@code config} targets and gives the new
     * parameters their initial values (A from the engine's random seed, B zero).
     */
    public static LoraAdapters attach(BertModel model, LoraConfig config) {
        List<String> paths = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        model.modules().forEach((path, m) -> {
            if (path.startsWith("encoder.layer.") && m instanceof LinearProjection) {
                names.add(path.replaceFirst("^encoder\\.layer\\.\\d+\\.", ""));
                if (config.targets(path)) {
                    paths.add(path);
                }
            }
        });
        if (paths.isEmpty()) {
            throw new IllegalArgumentException("LoRA targets " + config.targets() + " match no projection of the "
                    + "encoder; its projections are " + names + " in each layer");
        }
        return attach(model, config, paths);
    }

    /** Puts an adapter on exactly the projections at {@code paths} (an adapter file's modules). */
    public static LoraAdapters attach(BertModel model, LoraConfig config, Collection<String> paths) {
        Map<String, LoraLinear> made = new LinkedHashMap<>();
        Map<String, BertModule> modules = model.modules();
        for (String path : paths) {
            BertModule m = modules.get(path);
            if (m instanceof LoraLinear) {
                throw new IllegalArgumentException(path + " already carries a LoRA adapter");
            }
            if (!(m instanceof LinearProjection)) {
                throw new IllegalArgumentException("no projection at " + path + " to put a LoRA adapter on");
            }
            model.replace(path, base -> {
                LoraLinear l = new LoraLinear(base, config.rank(), config.alpha(), config.dropout());
                made.put(path, l);
                return l;
            });
        }
        model.initializeNew();
        return new LoraAdapters(config, made);
    }

    /** The adapters now on a model, by module path (none: empty). */
    public static Map<String, LoraLinear> on(BertModule model) {
        Map<String, LoraLinear> out = new LinkedHashMap<>();
        model.modules().forEach((path, m) -> {
            if (m instanceof LoraLinear l) {
                out.put(path, l);
            }
        });
        return out;
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapters, by the path of the projection each wraps. */
    public Map<String, LoraLinear> adapters() {
        return adapters;
    }

    /** Whether the parameter {@code name} of the adapted model trains. */
    public boolean trains(String name) {
        if (name.endsWith(".lora_A.weight") || name.endsWith(".lora_B.weight") || name.startsWith("classifier.")) {
            return true;
        }
        boolean encoder = name.startsWith("embeddings.") || name.startsWith("encoder.");
        return encoder && ((config.trainBiases() && name.endsWith(".bias"))
                || (config.trainLayerNorm() && name.contains("LayerNorm.")));
    }

    /** The model's parameters that stay frozen. */
    public Set<String> frozen(BertModel model) {
        Set<String> out = new LinkedHashSet<>();
        model.namedParameters().keySet().forEach(n -> {
            if (!trains(n)) {
                out.add(n);
            }
        });
        return out;
    }

    /** Scalars that train, and all of them, for the log's trainable share. */
    public long[] trainableShare(BertModel model) {
        long train = 0;
        long all = 0;
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            long n = e.getValue().getShape().size();
            all += n;
            train += trains(e.getKey()) ? n : 0;
        }
        return new long[] {train, all};
    }

    /** A line for the log: {@code LoRA r=8 alpha=16 on 24 projections (query, value): 0.3 M of 109.5 M train (0.27%)}. */
    public String describe(BertModel model) {
        long[] s = trainableShare(model);
        return String.format("LoRA r=%d alpha=%s on %d projections %s: %,d of %,d parameters train (%.2f%%)",
                config.rank(), trim(config.alpha()), adapters.size(), config.targets(), s[0], s[1], 100.0 * s[0] / s[1]);
    }

    /**
     * Folds every adapter into its projection's weight and takes the adapters off: the model then
     * computes what it did with them, at the cost of the plain model.
     */
    public static void merge(BertModel model) {
        on(model).forEach((path, l) -> {
            Dense base = (Dense) l.base();
            NDArray merged = l.mergedWeight();
            org.distill4j.weights.StateDict.assign(base.weight().getArray(), org.distill4j.weights.Tensor.of(merged));
            merged.close();
            model.replace(path, m -> base);
            l.loraA().close();
            l.loraB().close();
        });
    }

    private static String trim(float v) {
        return v == Math.rint(v) ? Integer.toString((int) v) : Float.toString(v);
    }
}
