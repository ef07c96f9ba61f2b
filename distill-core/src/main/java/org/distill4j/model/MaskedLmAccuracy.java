package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * Top-1 accuracy of a masked-LM head: in each sentence a fraction of the word pieces (not
 * [CLS]/[SEP]; at least one) chosen at random is replaced by [MASK], and the head must recover
 * the original piece. Unlike BERT's pre-training recipe there is no 80/10/10 mix: every chosen
 * piece is masked, which is the usual way to score a head.
 */
public final class MaskedLmAccuracy {

    /** Result of an evaluation. */
    public record Result(int sentences, int masked, int correct) {
        public double accuracy() {
            return masked == 0 ? 0 : correct / (double) masked;
        }
    }

    private MaskedLmAccuracy() {}

    public static Result evaluate(BertModel model, BertTokenizer tokenizer, List<String> sentences, double rate,
            long seed, int batchSize) {
        long maskId = tokenizer.tokenId("[MASK]");
        Random random = new Random(seed);
        ParameterStore ps = new ParameterStore(model.manager(), false);
        int masked = 0;
        int correct = 0;
        for (int start = 0; start < sentences.size(); start += batchSize) {
            TokenBatch batch = tokenizer.batch(sentences.subList(start, Math.min(sentences.size(), start + batchSize)),
                    null);
            long[] ids = batch.inputIds().clone();
            List<int[]> positions = new ArrayList<>(); // {flat index, original id}
            for (int b = 0; b < batch.batchSize(); b++) {
                int len = batch.length(b);
                List<Integer> inner = new ArrayList<>();
                for (int t = 1; t < len - 1; t++) {
                    inner.add(t);
                }
                java.util.Collections.shuffle(inner, random);
                int k = Math.max(1, (int) Math.round(rate * inner.size()));
                for (int t : inner.subList(0, Math.min(k, inner.size()))) {
                    int flat = b * batch.sequenceLength() + t;
                    positions.add(new int[] {flat, (int) ids[flat]});
                    ids[flat] = maskId;
                }
            }
            TokenBatch maskedBatch = new TokenBatch(ids, batch.tokenTypeIds(), batch.attentionMask(),
                    batch.batchSize(), batch.sequenceLength());
            try (NDManager step = model.manager().newSubManager()) {
                EncoderOutput out = model.encode(ps, maskedBatch.toInput(step), false);
                NDArray hidden = out.lastHidden().reshape(-1, model.config().hiddenSize());
                long[] rows = positions.stream().mapToLong(p -> p[0]).toArray();
                NDArray picked = hidden.get(step.create(rows));
                long[] predicted = model.maskedLmLogits(ps, picked, false).argMax(1).toLongArray();
                for (int i = 0; i < predicted.length; i++) {
                    correct += predicted[i] == positions.get(i)[1] ? 1 : 0;
                }
                masked += predicted.length;
            }
        }
        return new Result(sentences.size(), masked, correct);
    }
}
