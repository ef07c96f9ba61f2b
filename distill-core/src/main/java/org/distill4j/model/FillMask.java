package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/** Predicts the words behind [MASK] tokens with a model's masked-LM head. */
public final class FillMask {

    /** One candidate for a masked position. */
    public record Candidate(String token, long id, float probability) {}

    private final BertModel model;
    private final BertTokenizer tokenizer;
    private final long maskId;

    public FillMask(BertModel model, BertTokenizer tokenizer) {
        if (!model.heads().maskedLm()) {
            throw new IllegalArgumentException("fill-mask needs a model with a masked-LM head; this one has none "
                    + "(builtin:bert-base-uncased has one)");
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.maskId = tokenizer.tokenId("[MASK]");
    }

    /** The top {@code k} candidates for each [MASK] in the text, in order of appearance. */
    public List<List<Candidate>> fill(String text, int k) {
        TokenBatch batch = tokenizer.batch(List.of(text), null);
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < batch.sequenceLength(); i++) {
            if (batch.inputIds()[i] == maskId) {
                positions.add(i);
            }
        }
        if (positions.isEmpty()) {
            throw new IllegalArgumentException("the text has no [MASK] token: " + text);
        }
        List<List<Candidate>> out = new ArrayList<>();
        try (NDManager step = model.manager().newSubManager()) {
            ParameterStore ps = new ParameterStore(step, false);
            NDArray last = model.lastHidden(ps, batch.toInput(step), false);
            NDArray probs = model.maskedLmLogits(ps, last.get(0), false).softmax(-1);
            for (int pos : positions) {
                float[] p = probs.get(pos).toFloatArray();
                out.add(top(p, k));
            }
        }
        return out;
    }

    private List<Candidate> top(float[] p, int k) {
        Integer[] idx = new Integer[p.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        java.util.Arrays.sort(idx, (a, b) -> Float.compare(p[b], p[a]));
        List<Candidate> out = new ArrayList<>(k);
        for (int i = 0; i < Math.min(k, idx.length); i++) {
            out.add(new Candidate(tokenizer.decode(new long[] {idx[i]}).trim(), idx[i], p[idx[i]]));
        }
        return out;
    }
}
