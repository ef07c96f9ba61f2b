package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.distill4j.model.BertConfig;
import org.distill4j.model.ForwardOptions;

/**
 * A part of the student that one forward pass runs: a subset of its layers and, in every layer
 * that runs, the first share of its attention heads and feed-forward neurons (DynaBERT, Hou et
 * al. 2020, section 2.1: after rewiring, the most important heads and neurons come first, so a
 * width keeps a prefix).
 *
 * @param name a short name for logs (a term's value is logged as {@code term@name})
 * @param layers the layers to run (0-based, in order), or null for all
 * @param heads share of each layer's heads kept, in (0, 1]
 * @param ffn share of each layer's feed-forward neurons kept, in (0, 1]
 */
public record SubNetwork(String name, int[] layers, double heads, double ffn) {

    /** The whole network. */
    public static final SubNetwork FULL = new SubNetwork("full", null, 1, 1);

    public SubNetwork {
        if (!(heads > 0 && heads <= 1) || !(ffn > 0 && ffn <= 1)) {
            throw new IllegalArgumentException("sub-network " + name + ": head and FFN shares must be in (0, 1], got "
                    + heads + " and " + ffn);
        }
        layers = layers == null ? null : layers.clone();
    }

    /** Every layer at {@code width} of its heads and neurons (DynaBERT's width multiplier m_w). */
    public static SubNetwork width(double width) {
        return new SubNetwork("w" + width, null, width, width);
    }

    /**
     * The layers DynaBERT keeps at a depth multiplier out of {@code total} (0-based): layer
     * {@code floor(i / depth)} for i = 0 … round(depth · total) − 1, so 0.5 of 12 keeps 0, 2, …, 10.
     */
    public static int[] depthLayers(double depth, int total) {
        if (!(depth > 0 && depth <= 1)) {
            throw new IllegalArgumentException("depth must be in (0, 1], got " + depth);
        }
        int n = Math.max(1, (int) Math.round(depth * total));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) Math.floor(i / depth + 1e-9);
        }
        return out;
    }

    /** Only the given layers (0-based), at full width. */
    public static SubNetwork depth(String name, int... layers) {
        return new SubNetwork(name, layers, 1, 1);
    }

    /** Heads (or neurons) kept per layer out of {@code total} at a share: rounded, at least one. */
    public static int kept(double share, int total) {
        return Math.max(1, Math.min(total, (int) Math.round(share * total)));
    }

    /** The forward options that run this part of a model of shape {@code c}; masks are made in {@code m}. */
    public ForwardOptions options(NDManager m, BertConfig c) {
        ForwardOptions o = layers == null ? ForwardOptions.ALL : ForwardOptions.layers(layers);
        if (heads < 1) {
            o = o.withHeadMask(prefixMask(m, c.numHiddenLayers(), c.numAttentionHeads(), kept(heads,
                    c.numAttentionHeads())));
        }
        if (ffn < 1) {
            o = o.withFfnMask(prefixMask(m, c.numHiddenLayers(), c.intermediateSize(), kept(ffn,
                    c.intermediateSize())));
        }
        return o;
    }

    /** [rows, width] of ones in the first {@code keep} columns and zeros after. */
    private static NDArray prefixMask(NDManager m, int rows, int width, int keep) {
        float[] mask = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            Arrays.fill(mask, r * width, r * width + keep, 1f);
        }
        return m.create(mask, new Shape(rows, width));
    }

    @Override
    public String toString() {
        return name + (layers == null ? "" : " layers " + Arrays.toString(layers))
                + (heads < 1 || ffn < 1 ? String.format(" heads %.2f ffn %.2f", heads, ffn) : "");
    }
}
