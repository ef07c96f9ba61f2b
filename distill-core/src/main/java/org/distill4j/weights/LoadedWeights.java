package org.distill4j.weights;

import org.distill4j.model.BertConfig;

/**
 * Weights read from some source together with the config that fits them.
 *
 * @param config the encoder's shape
 * @param weights the tensors, HuggingFace-named
 */
public record LoadedWeights(BertConfig config, StateDict weights) {}
