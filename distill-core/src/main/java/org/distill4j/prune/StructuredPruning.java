package org.distill4j.prune;

import java.util.Arrays;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.train.SubNetwork;
import org.distill4j.weights.Checkpoint;

/**
 * One-shot structured pruning (Michel et al. 2019; the baseline DynaBERT is measured against): in
 * every layer the least important share of attention heads and of feed-forward neurons is cut
 * out, the rest kept in their order. Every layer loses as many as the others, as the encoder has
 * one shape for all of them. What is left is a really smaller model; distillation from the
 * unpruned teacher then recovers what it can (any recipe with {@code student.init} the pruned model).
 */
public final class StructuredPruning {

    private StructuredPruning() {}

    /**
     * @param heads share of each layer's heads to remove, in [0, 1)
     * @param ffn share of each layer's feed-forward neurons to remove, in [0, 1)
     */
    public static Checkpoint apply(Checkpoint c, Importance importance, double heads, double ffn) {
        if (!(heads >= 0 && heads < 1) || !(ffn >= 0 && ffn < 1)) {
            throw new DistillException("the shares of heads and neurons to remove must be in [0, 1), got " + heads
                    + " and " + ffn);
        }
        importance.requireFits(c);
        BertConfig cfg = c.config();
        int layers = cfg.numHiddenLayers();
        int keepHeads = SubNetwork.kept(1 - heads, cfg.numAttentionHeads());
        int keepNeurons = SubNetwork.kept(1 - ffn, cfg.intermediateSize());
        int[][] h = new int[layers][];
        int[][] n = new int[layers][];
        for (int l = 0; l < layers; l++) {
            h[l] = firsts(importance.headOrder(l), keepHeads);
            n[l] = firsts(importance.neuronOrder(l), keepNeurons);
        }
        return Extraction.select(c, Extraction.allLayers(cfg), h, n,
                String.format("%s pruned (heads -%.0f%%, ffn -%.0f%%)", c.name(), 100 * heads, 100 * ffn));
    }

    /** The first {@code k} of an order of importance, back in their original order. */
    private static int[] firsts(int[] order, int k) {
        int[] f = Arrays.copyOf(order, k);
        Arrays.sort(f);
        return f;
    }
}
