package org.distill4j.prune;

import org.distill4j.model.BertConfig;
import org.distill4j.weights.Checkpoint;

/**
 * DynaBERT's network rewiring: in every layer, the attention heads (their query, key and value
 * rows and output columns) and the feed-forward neurons (intermediate rows, output columns) are
 * put in order of importance, most important first. The function is unchanged, since a layer sums
 * over its heads and neurons in any order; what changes is that any width, keeping a prefix,
 * keeps the most important ones.
 */
public final class Rewiring {

    private Rewiring() {}

    /** The model with each layer's heads and neurons in descending order of {@code importance}. */
    public static Checkpoint apply(Checkpoint c, Importance importance) {
        importance.requireFits(c);
        BertConfig cfg = c.config();
        int layers = cfg.numHiddenLayers();
        int[][] heads = new int[layers][];
        int[][] neurons = new int[layers][];
        for (int l = 0; l < layers; l++) {
            heads[l] = importance.headOrder(l);
            neurons[l] = importance.neuronOrder(l);
        }
        return Extraction.select(c, Extraction.allLayers(cfg), heads, neurons, c.name() + " rewired");
    }
}
