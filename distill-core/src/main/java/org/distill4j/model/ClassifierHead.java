package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * A task head on the sentence vector (the pooled output if the model has a pooler, else the
 * [CLS] hidden state): dropout then a linear layer. One output is a regression (STS-B);
 * more are class logits.
 */
public final class ClassifierHead extends BertModule {

    private final float dropout;

    public ClassifierHead(BertConfig config, int outputs) {
        if (outputs < 1) {
            throw new IllegalArgumentException("a classifier head needs at least one output, got " + outputs);
        }
        this.dropout = config.hiddenDropoutProb();
        child("", new Dense(config.hiddenSize(), outputs));
    }

    /** @param sentence [batch, hidden]; returns [batch, outputs] */
    public NDArray forward(ParameterStore ps, NDArray sentence, boolean training) {
        return projection("").forward(ps, DropoutMasks.dropout(sentence, dropout, training), training);
    }

    public int outputs() {
        return projection("").out();
    }
}
