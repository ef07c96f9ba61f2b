package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Base of every learnable piece of the BERT stack. Parameters are registered under their
 * HuggingFace names (e.g. {@code attention.self.query.weight}), with fixed shapes, so that
 * weight import and export are a plain name-to-name copy and the model never needs DJL's
 * shape inference. Forward passes are typed methods on the subclasses; the generic
 * {@link #forwardInternal} is only a convenience for single-input modules.
 *
 * <p>The module tree is the one parameter registry: {@link #namedParameters} walks it at call time,
 * so a module attached or swapped in after construction (a projection, a low-rank adapter) is seen
 * by everything that reads parameters (initialisation, optimizer, checkpoints, weight files).
 */
public abstract class BertModule extends AbstractBlock {

    /** BERT's initialiser: truncated-free normal with standard deviation 0.02. */
    static final Initializer BERT_INIT = new NormalInitializer(0.02f);

    /** A parameter of this module or a child module, in registration order (which fixes every walk's order). */
    private sealed interface Entry permits Own, Child {}

    private record Own(String name, Parameter parameter) implements Entry {}

    private static final class Child implements Entry {
        final String prefix;
        BertModule module;

        Child(String prefix, BertModule module) {
            this.prefix = prefix;
            this.module = module;
        }
    }

    private final List<Entry> entries = new ArrayList<>();

    /** Registers a parameter with a fixed shape and initialiser under a HuggingFace name. */
    protected final Parameter param(String name, Shape shape, Initializer init, Parameter.Type type) {
        Parameter p = addParameter(Parameter.builder()
                .setName(name)
                .setType(type)
                .optShape(shape)
                .optInitializer(init)
                .build());
        entries.add(new Own(name, p));
        return p;
    }

    /** Registers a child module; its parameters appear as {@code prefix.name} (just {@code name} for ""). */
    protected final <M extends BertModule> M child(String prefix, M module) {
        if (entries.stream().anyMatch(e -> e instanceof Child c && c.prefix.equals(prefix))) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " already has a module '" + prefix + "'");
        }
        addChildBlock(prefix.isEmpty() ? "bert" : prefix, module);
        entries.add(new Child(prefix, module));
        return module;
    }

    /**
     * Attaches a module after construction (a projection a loss term learns, an adapter); its
     * parameters appear under {@code prefix.} like those of the modules made with the model.
     */
    public final <M extends BertModule> M attach(String prefix, M module) {
        return child(prefix, module);
    }

    /**
     * Replaces the module at {@code path} (a path of {@link #modules}, e.g.
     * {@code encoder.layer.0.attention.self.query}) by {@code wrap} of it. A projection can only be
     * replaced by a projection of the same in and out width.
     */
    public final void replace(String path, UnaryOperator<BertModule> wrap) {
        for (Map.Entry<String, BertModule> m : modules().entrySet()) {
            for (Entry e : m.getValue().entries) {
                if (e instanceof Child c && join(m.getKey(), c.prefix).equals(path)) {
                    BertModule next = wrap.apply(c.module);
                    if (c.module instanceof LinearProjection old && !(next instanceof LinearProjection p
                            && p.in() == old.in() && p.out() == old.out())) {
                        throw new IllegalArgumentException(path + " is a projection " + old.in() + " -> " + old.out()
                                + "; its replacement must be one too, got " + next.getClass().getSimpleName());
                    }
                    c.module = next;
                    return;
                }
            }
        }
        throw new IllegalArgumentException("no module at '" + path + "'; modules are " + modules().keySet());
    }

    /** The projection now at {@code prefix}: the one made with the module, or what {@link #replace} put there. */
    protected final LinearProjection projection(String prefix) {
        return (LinearProjection) current(prefix);
    }

    /** The module now at {@code prefix} (the one given to {@link #child}, or what replaced it). */
    protected final BertModule current(String prefix) {
        for (Entry e : entries) {
            if (e instanceof Child c && c.prefix.equals(prefix)) {
                return c.module;
            }
        }
        throw new IllegalArgumentException(getClass().getSimpleName() + " has no module '" + prefix + "'");
    }

    /** Every parameter of this module and its children, by HuggingFace name, in registration order. */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> named = new LinkedHashMap<>();
        collect("", named);
        return Collections.unmodifiableMap(named);
    }

    /**
     * Every module below this one (itself at ""), by path, parents before their children. A module
     * registered under "" shares its parent's path (a head's dense layer, the projection an adapter
     * wraps); the outer one is listed there.
     */
    public Map<String, BertModule> modules() {
        Map<String, BertModule> out = new LinkedHashMap<>();
        collectModules("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collect(String prefix, Map<String, Parameter> into) {
        for (Entry e : entries) {
            if (e instanceof Own o) {
                String name = join(prefix, o.name());
                if (into.putIfAbsent(name, o.parameter()) != null) {
                    throw new IllegalStateException("two parameters are named " + name);
                }
            } else {
                Child c = (Child) e;
                c.module.collect(join(prefix, c.prefix), into);
            }
        }
    }

    private void collectModules(String path, Map<String, BertModule> into) {
        into.putIfAbsent(path, this);
        for (Entry e : entries) {
            if (e instanceof Child c) {
                c.module.collectModules(join(path, c.prefix), into);
            }
        }
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : name.isEmpty() ? prefix : prefix + "." + name;
    }

    /**
     * The parameter's value on the device of {@code like}, recorded for autograd when training.
     * In mixed precision the store hands out half-precision working copies; where such a copy
     * meets fp32 activations (the heads and projections after the encoder, whose outputs are fp32)
     * the fp32 master is used instead, since activations can be cast up but not down under autograd.
     */
    protected static NDArray value(ParameterStore ps, Parameter p, NDArray like, boolean training) {
        NDArray v = ps.getValue(p, like.getDevice(), training);
        if (v.getDataType() != like.getDataType() && like.getDataType() == DataType.FLOAT32) {
            return p.getArray();
        }
        return v;
    }

    /**
     * Frees the handles of intermediate results a forward pass no longer needs, as PyTorch frees a
     * tensor when its last Python reference goes: autograd keeps its own reference to what the
     * backward pass needs, so only memory nothing else uses is given back. Without this every
     * intermediate lives until the step's manager closes, and a step needs gigabytes of fresh pages.
     */
    protected static void release(NDArray... arrays) {
        for (NDArray a : arrays) {
            if (a != null) {
                a.close();
            }
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has a typed forward method; call it");
    }
}
