package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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
            NDArray last = model.lastHidden(ps, batch.toInput(step), false).get(0);
            // The vocabulary projection only where the masks are: it costs more than the encoder.
            NDList masked = new NDList();
            for (int pos : positions) {
                masked.add(last.get(pos));
            }
            NDArray probs = model.maskedLmLogits(ps, NDArrays.stack(masked), false).softmax(-1);
            for (int i = 0; i < positions.size(); i++) {
                out.add(top(probs.get(i).toFloatArray(), k));
            }
        }
        return out;
    }

    /** The k most probable ids by insertion into a short sorted list: k is small, the vocabulary not. */
    private List<Candidate> top(float[] p, int k) {
        int n = Math.max(0, Math.min(k, p.length));
        if (n == 0) {
            return List.of();
        }
        int[] best = new int[n];
        int size = 0;
        for (int i = 0; i < p.length; i++) {
            if (size == n && !(p[i] > p[best[n - 1]])) {
                continue;
            }
            int at = size == n ? n - 1 : size++;
            while (at > 0 && p[i] > p[best[at - 1]]) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        List<Candidate> out = new ArrayList<>(n);
        for (int id : best) {
            out.add(new Candidate(tokenizer.decode(new long[] {id}).trim(), id, p[id]));
        }
        return out;
    }
}
