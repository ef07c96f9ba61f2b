package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
        int n = Math.min(k, (int) model.config().vocabSize());
        if (n < 1) {
            positions.forEach(p -> out.add(List.of()));
            return out;
        }
        try (NDManager step = model.manager().newSubManager()) {
            ParameterStore ps = new ParameterStore(step, false);
            // The vocabulary projection only where the masks are: it costs more than the encoder.
            NDArray masked = model.lastHidden(ps, batch.toInput(step), false).get(0)
                    .get(step.create(positions.stream().mapToLong(Integer::longValue).toArray()));
            NDList best = model.maskedLmLogits(ps, masked, false).softmax(-1).topK(n, -1, true, true);
            float[] p = best.get(0).toFloatArray();
            long[] ids = best.get(1).toType(DataType.INT64, false).toLongArray();
            for (int i = 0; i < positions.size(); i++) {
                List<Candidate> c = new ArrayList<>(n);
                for (int j = i * n; j < (i + 1) * n; j++) {
                    c.add(new Candidate(tokenizer.decode(new long[] {ids[j]}).trim(), ids[j], p[j]));
                }
                out.add(c);
            }
        }
        return out;
    }
}
