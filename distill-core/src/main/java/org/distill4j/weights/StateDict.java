package org.distill4j.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraAdapters;
import org.distill4j.model.LoraLinear;

/**
 * Named weights with HuggingFace BERT names ({@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.3.attention.self.query.weight}, ...). Every reader produces one and every
 * writer consumes one, so formats never talk to each other directly.
 */
public final class StateDict {

    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final String source;

    /** @param source where the weights came from, used in error messages */
    public StateDict(String source) {
        this.source = source;
    }

    /** Adds a tensor, stripping the {@code bert.} prefix that task checkpoints put on encoder names. */
    public void put(String name, Tensor t) {
        tensors.put(name.startsWith("bert.") ? name.substring(5) : name, t);
    }

    /** Removes a tensor; returns it, or null if there was none. */
    public Tensor remove(String name) {
        return tensors.remove(name);
    }

    public Tensor get(String name) {
        return tensors.get(name);
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Map<String, Tensor> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public String source() {
        return source;
    }

    /** Which heads these weights carry. */
    public BertModel.Heads heads() {
        Tensor cls = tensors.get("classifier.weight");
        return new BertModel.Heads(contains("pooler.dense.weight"), contains("cls.predictions.transform.dense.weight"),
                cls == null ? 0 : (int) cls.shape()[0]);
    }

    /**
     * Infers the encoder's shape from tensor shapes. The head count is not visible in any tensor,
     * so the caller supplies it (from a config file or the ONNX graph).
     */
    public BertConfig inferConfig(int numAttentionHeads, float layerNormEps) {
        Tensor word = require("embeddings.word_embeddings.weight");
        Tensor pos = require("embeddings.position_embeddings.weight");
        Tensor type = require("embeddings.token_type_embeddings.weight");
        Tensor inter = require("encoder.layer.0.intermediate.dense.weight");
        int layers = 0;
        for (String name : tensors.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.find()) {
                layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            }
        }
        try {
            long allHeads = require("encoder.layer.0.attention.self.query.weight").shape()[0];
            if (allHeads % numAttentionHeads != 0) {
                throw new IllegalArgumentException(numAttentionHeads + " heads do not divide the query projection's "
                        + allHeads + " outputs");
            }
            return new BertConfig((int) word.shape()[0], (int) word.shape()[1], layers, numAttentionHeads,
                    (int) (allHeads / numAttentionHeads), (int) inter.shape()[0], "gelu", (int) pos.shape()[0], (int) type.shape()[0], layerNormEps, 0.1f,
                    0.1f);
        } catch (IllegalArgumentException e) {
            throw new DistillException(source + ": the tensors describe an impossible model: " + e.getMessage(), e);
        }
    }

    /**
     * Copies these weights into a model's parameters. Every parameter must be present with the
     * shape the model's config implies; the error lists every tensor that is missing or misshapen.
     */
    public void copyInto(BertModel model) {
        copyInto(model, name -> false);
    }

    /**
     * Copies these weights into a model's parameters; a parameter whose name satisfies
     * {@code mayBeMissing} and is absent here keeps its current (initial) value. Any other absent
     * or misshapen tensor is an error naming every such tensor.
     */
    public void copyInto(BertModel model, Predicate<String> mayBeMissing) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            Tensor t = tensors.get(e.getKey());
            long[] expected = e.getValue().getShape().getShape();
            if (t == null && !mayBeMissing.test(e.getKey())) {
                problems.add("missing tensor '" + e.getKey() + "' " + Arrays.toString(expected));
            } else if (t != null && !Arrays.equals(t.shape(), expected)) {
                problems.add("tensor '" + e.getKey() + "' has shape " + t.shapeString() + " but the config needs "
                        + Arrays.toString(expected));
            }
        }
        if (!problems.isEmpty()) {
            throw new DistillException(source + ": weights do not fit the model:\n  " + String.join("\n  ", problems));
        }
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t != null) {
                assign(e.getValue().getArray(), t);
            }
        }
    }

    /**
     * Copies a tensor's values into an existing array, in place. Not {@code NDArray.set(Buffer)}:
     * DJL's PyTorch engine would make the array's storage a Java direct buffer, whose alignment
     * varies from run to run; MKL then rounds differently, and a resumed run would drift from an
     * uninterrupted one in the last bit. Writing into PyTorch's own (64-byte aligned) storage keeps
     * runs bit-for-bit reproducible.
     */
    public static void assign(NDArray target, Tensor t) {
        if (!java.util.Arrays.equals(target.getShape().getShape(), t.shape())) {
            throw new IllegalArgumentException("cannot assign a tensor of shape " + t.shapeString() + " to an array of "
                    + target.getShape());
        }
        // Off the engine's first thread grad mode is on, and an in-place write to a parameter fails.
        org.distill4j.model.GradMode.off(() -> {
            try (NDManager tmp = target.getManager().newSubManager()) {
                target.set(new NDIndex("..."), tmp.create(t.data(), target.getShape()));
            }
        });
    }

    /**
     * A copy of a model's current parameter values, as a plain model holds them: the update of a
     * LoRA adapter is folded into its projection's weight and the adapter's own tensors left out
     * (they are written apart, as a PEFT adapter).
     */
    public static StateDict of(BertModel model, String source) {
        StateDict dict = new StateDict(source);
        Map<String, LoraLinear> adapters = LoraAdapters.on(model);
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            String name = e.getKey();
            if (name.endsWith(".lora_A.weight") || name.endsWith(".lora_B.weight")) {
                continue;
            }
            LoraLinear lora = name.endsWith(".weight")
                    ? adapters.get(name.substring(0, name.length() - ".weight".length())) : null;
            if (lora != null) {
                NDArray merged = lora.mergedWeight();
                dict.put(name, Tensor.of(merged));
                merged.close();
            } else {
                dict.put(name, Tensor.of(e.getValue().getArray()));
            }
        }
        return dict;
    }

    private Tensor require(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new DistillException(source + ": missing tensor '" + name + "'; is this a BERT checkpoint?");
        }
        return t;
    }
}
