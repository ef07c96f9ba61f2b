package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/** BERT's pooler: {@code tanh(W · h_[CLS] + b)}, trained by next-sentence prediction. */
public final class Pooler extends BertModule {

    public Pooler(BertConfig config) {
        child("dense", new Dense(config.hiddenSize(), config.hiddenSize()));
    }

    /** @param cls [batch, hidden] */
    public NDArray forward(ParameterStore ps, NDArray cls, boolean training) {
        return projection("dense").forward(ps, cls, training).tanh();
    }
}
