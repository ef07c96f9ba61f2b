package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.StopSignal;

/**
 * The BERT encoder: embeddings and a stack of {@link BertLayer}s, written from DJL primitives so
 * that every layer's hidden state and attention is visible, heads and feed-forward neurons can be
 * masked, and any subset of layers can be run.
 */
public final class BertEncoder extends BertModule {

    private final BertConfig config;
    private final BertEmbeddings embeddings;
    private final List<BertLayer> layers = new ArrayList<>();

    public BertEncoder(BertConfig config) {
        this.config = config;
        embeddings = child("embeddings", new BertEmbeddings(config));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(child("encoder.layer." + i, new BertLayer(config)));
        }
    }

    public EncoderOutput forward(ParameterStore ps, EncoderInput input, boolean training) {
        return forward(ps, input, ForwardOptions.ALL, training);
    }

    public EncoderOutput forward(ParameterStore ps, EncoderInput input, ForwardOptions options, boolean training) {
        // Every batch of every loop passes here or in lastHidden, between native calls.
        StopSignal.stopHereIfRequested();
        int[] order = options.layers() != null ? options.layers() : allLayers();
        for (int l : order) {
            if (l < 0 || l >= layers.size()) {
                throw new IllegalArgumentException("layer " + l + " does not exist: the encoder has " + layers.size()
                        + " layers (0.." + (layers.size() - 1) + ")");
            }
        }
        NDArray mask = input.attentionMask();
        NDArray h = embeddings.forward(ps, input.inputIds(), input.tokenTypeIds(), training);
        NDArray maskBias = maskBias(mask, h.getDataType());
        List<NDArray> hidden = new ArrayList<>(order.length + 1);
        List<NDArray> probs = new ArrayList<>(order.length);
        List<NDArray> scores = new ArrayList<>(order.length);
        hidden.add(h);
        for (int l : order) {
            NDArray headMask = options.headMask() == null ? null : options.headMask().get(l);
            NDArray ffnMask = options.ffnMask() == null ? null : options.ffnMask().get(l);
            BertLayer.Result r = layers.get(l).forward(ps, h, maskBias, headMask, ffnMask, training);
            h = r.hidden();
            hidden.add(h);
            probs.add(r.probs());
            scores.add(r.scores());
        }
        if (h.getDataType() != DataType.FLOAT32) {
            // Mixed precision: what leaves the encoder is fp32, so heads and losses need not care.
            NDArray zero = h.getManager().zeros(new Shape(1), DataType.FLOAT32, h.getDevice());
            hidden = toFloat(hidden, zero);
            probs = toFloat(probs, zero);
            scores = toFloat(scores, zero);
        }
        int[] numbers = new int[order.length + 1];
        for (int i = 0; i < order.length; i++) {
            numbers[i + 1] = order[i] + 1;
        }
        return new EncoderOutput(hidden, probs, scores, mask, numbers);
    }

    /**
     * The last layer's hidden state alone, [batch, seq, hidden] in fp32: every layer runs, and each
     * layer's attention scores and probabilities and the state it read are released as soon as the
     * next layer has it. For inference that reads only the top of the encoder (task heads, masked-LM
     * candidates, sentence vectors): {@link #forward} keeps all of them, about 50 MB a layer at
     * batch 32 x 128 with 12 heads.
     */
    public NDArray lastHidden(ParameterStore ps, EncoderInput input, boolean training) {
        return lastHidden(ps, input, ForwardOptions.ALL, training);
    }

    /** The lean forward of the part of the encoder {@code options} runs (a DynaBERT sub-network, say). */
    public NDArray lastHidden(ParameterStore ps, EncoderInput input, ForwardOptions options, boolean training) {
        StopSignal.stopHereIfRequested();
        NDArray h = embeddings.forward(ps, input.inputIds(), input.tokenTypeIds(), training);
        NDArray maskBias = maskBias(input.attentionMask(), h.getDataType());
        for (int l : options.layers() != null ? options.layers() : allLayers()) {
            NDArray headMask = options.headMask() == null ? null : options.headMask().get(l);
            NDArray ffnMask = options.ffnMask() == null ? null : options.ffnMask().get(l);
            BertLayer.Result r = layers.get(l).forward(ps, h, maskBias, headMask, ffnMask, training);
            release(headMask, ffnMask);
            release(h, r.scores(), r.probs());
            h = r.hidden();
        }
        release(maskBias);
        if (h.getDataType() != DataType.FLOAT32) {
            NDArray half = h;
            try (NDArray zero = half.getManager().zeros(new Shape(1), DataType.FLOAT32, half.getDevice())) {
                h = half.add(zero);
            }
            release(half);
        }
        return h;
    }

    /**
     * [batch, 1, 1, seq]: 0 where a key is a real token, MASKED_SCORE where it is padding; in the
     * activations' type (half in mixed precision), as attention adds it to the scores.
     */
    private static NDArray maskBias(NDArray mask, DataType type) {
        try (NDManager scratch = mask.getManager().newSubManager()) {
            // Results join their input's manager: moving the first one moves the whole chain.
            NDArray real = mask.toType(DataType.FLOAT32, true);
            real.attach(scratch);
            NDArray bias = real.neg().add(1f).mul(BertSelfAttention.MASKED_SCORE).expandDims(1).expandDims(1)
                    .toType(type, false);
            bias.attach(mask.getManager());
            return bias;
        }
    }

    /** fp32 copies that autograd follows: half + float promotes to float (a cast would not be recorded). */
    private static List<NDArray> toFloat(List<NDArray> arrays, NDArray zero) {
        List<NDArray> up = new ArrayList<>(arrays.size());
        for (NDArray a : arrays) {
            up.add(a.add(zero));
        }
        return up;
    }

    private int[] allLayers() {
        int[] all = new int[layers.size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return all;
    }

    public BertConfig config() {
        return config;
    }

    public BertEmbeddings embeddings() {
        return embeddings;
    }

    public List<BertLayer> layers() {
        return List.copyOf(layers);
    }
}
