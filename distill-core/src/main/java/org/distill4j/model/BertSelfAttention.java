package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * Multi-head scaled dot-product self-attention (Vaswani et al. 2017, eq. 1). Besides the
 * context it returns what distillation needs: the pre-softmax scores and the probabilities.
 */
public final class BertSelfAttention extends BertModule {

    /**
     * Added to the scores of padding keys. Google's BERT uses -10000; it drives their
     * probability to exactly 0 in fp32 and, unlike -inf or the float minimum, stays finite in fp16.
     */
    static final float MASKED_SCORE = -10000f;

    private final int heads;
    private final int headSize;
    private final float dropout;

    public BertSelfAttention(BertConfig config) {
        this.heads = config.numAttentionHeads();
        this.headSize = config.attentionHeadSize();
        this.dropout = config.attentionProbsDropoutProb();
        int h = config.hiddenSize();
        int inner = heads * headSize;
        child("query", new Dense(h, inner));
        child("key", new Dense(h, inner));
        child("value", new Dense(h, inner));
    }

    /** What one attention pass produced. */
    public record Result(NDArray context, NDArray scores, NDArray probs) {}

    /**
     * @param x [batch, seq, hidden]
     * @param maskBias [batch, 1, 1, seq]: 0 for real tokens, {@link #MASKED_SCORE} for padding
     * @param headMask [heads] multiplier of each head's probabilities, or null
     * @return context [batch, seq, heads × head size]; scores (scaled, before the padding bias) and
     *     probabilities [batch, heads, seq, seq]
     */
    public Result forward(ParameterStore ps, NDArray x, NDArray maskBias, NDArray headMask, boolean training) {
        NDArray q = splitHeads(projection("query").forward(ps, x, training));
        NDArray k = splitHeads(projection("key").forward(ps, x, training));
        NDArray v = splitHeads(projection("value").forward(ps, x, training));
        NDArray kt = k.transpose(0, 1, 3, 2);
        NDArray raw = q.matMul(kt);
        NDArray scores = Scalar.div(raw, (float) Math.sqrt(headSize));
        release(q, k, kt, raw);
        NDArray biased = scores.add(maskBias);
        NDArray probs = biased.softmax(-1);
        release(biased);
        if (headMask != null) {
            NDArray mask = headMask.reshape(1, heads, 1, 1);
            NDArray all = probs;
            probs = all.mul(mask);
            release(mask, all);
        }
        NDArray attended = DropoutMasks.dropout(probs, dropout, training);
        NDArray perHead = attended.matMul(v);
        release(attended, v);
        NDArray context = perHead.transpose(0, 2, 1, 3);
        long[] s = context.getShape().getShape();
        NDArray joined = context.reshape(s[0], s[1], (long) heads * headSize);
        release(perHead, context);
        return new Result(joined, scores, probs);
    }

    /** [batch, seq, hidden] to [batch, heads, seq, headSize]; the input's handle is released. */
    private NDArray splitHeads(NDArray t) {
        long[] s = t.getShape().getShape();
        NDArray split = t.reshape(s[0], s[1], heads, headSize);
        NDArray heads4 = split.transpose(0, 2, 1, 3);
        release(t, split);
        return heads4;
    }
}
