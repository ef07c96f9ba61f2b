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
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Base of every learnable piece of the BERT stack. Parameters are registered under their
 * HuggingFace names (e.g. {@code attention.self.query.weight}), with fixed shapes, so that
 * weight import and export are a plain name-to-name copy and the model never needs DJL's
 * shape inference. Forward passes are typed methods on the subclasses; the generic
 * {@link #forwardInternal} is only a convenience for single-input modules.
 */
abstract class BertModule extends AbstractBlock {

    /** BERT's initialiser: truncated-free normal with standard deviation 0.02. */
    static final Initializer BERT_INIT = new NormalInitializer(0.02f);

    private final Map<String, Parameter> named = new LinkedHashMap<>();

    /** Registers a parameter with a fixed shape and initialiser under a HuggingFace name. */
    protected final Parameter param(String name, Shape shape, Initializer init, Parameter.Type type) {
        Parameter p = addParameter(Parameter.builder()
                .setName(name)
                .setType(type)
                .optShape(shape)
                .optInitializer(init)
                .build());
        named.put(name, p);
        return p;
    }

    /** Registers a child module; its parameters appear as {@code prefix.name} (just {@code name} for ""). */
    protected final <M extends BertModule> M child(String prefix, M module) {
        addChildBlock(prefix.isEmpty() ? "bert" : prefix, module);
        ((BertModule) module).named.forEach((k, v) -> named.put(prefix.isEmpty() ? k : prefix + "." + k, v));
        return module;
    }

    /** Every parameter of this module and its children, by HuggingFace name, in a stable order. */
    public Map<String, Parameter> namedParameters() {
        return Collections.unmodifiableMap(named);
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
