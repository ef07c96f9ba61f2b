package org.distill4j.loss;

import java.util.Set;
import java.util.TreeSet;

/**
 * What a loss term reads from the teacher. Layers are numbered as in
 * {@link org.distill4j.model.EncoderOutput}: 0 is the embeddings, k the k-th transformer layer.
 * The trainer unites the requests of a stage's terms and answers them with a live teacher or with
 * outputs cached before training ({@link #cacheable}).
 *
 * @param logits the task head's outputs
 * @param cls the [CLS] vectors after these layers
 * @param hidden the token states after these layers
 * @param attentionScores the scaled pre-softmax attention scores of these layers (1 and up)
 * @param attentionProbs the attention probabilities of these layers (1 and up)
 * @param maskedLm masked-LM logits on a masked copy of the batch the term makes itself
 */
public record TeacherRequest(boolean logits, Set<Integer> cls, Set<Integer> hidden, Set<Integer> attentionScores,
        Set<Integer> attentionProbs, boolean maskedLm) {

    /** Nothing: the term reads no teacher. */
    public static final TeacherRequest NONE = new TeacherRequest(false, Set.of(), Set.of(), Set.of(), Set.of(), false);

    public TeacherRequest {
        cls = Set.copyOf(new TreeSet<>(cls));
        hidden = Set.copyOf(new TreeSet<>(hidden));
        attentionScores = Set.copyOf(new TreeSet<>(attentionScores));
        attentionProbs = Set.copyOf(new TreeSet<>(attentionProbs));
        if (attentionScores.contains(0) || attentionProbs.contains(0)) {
            throw new IllegalArgumentException("layer 0 is the embeddings, which have no attention");
        }
    }

    public static TeacherRequest logitsOnly() {
        return new TeacherRequest(true, Set.of(), Set.of(), Set.of(), Set.of(), false);
    }

    public static TeacherRequest clsOf(Set<Integer> layers) {
        return new TeacherRequest(false, layers, Set.of(), Set.of(), Set.of(), false);
    }

    public static TeacherRequest hiddenOf(Set<Integer> layers) {
        return new TeacherRequest(false, Set.of(), layers, Set.of(), Set.of(), false);
    }

    public static TeacherRequest scoresOf(Set<Integer> layers) {
        return new TeacherRequest(false, Set.of(), Set.of(), layers, Set.of(), false);
    }

    public static TeacherRequest probsOf(Set<Integer> layers) {
        return new TeacherRequest(false, Set.of(), Set.of(), Set.of(), layers, false);
    }

    public static TeacherRequest maskedLmLogits() {
        return new TeacherRequest(false, Set.of(), Set.of(), Set.of(), Set.of(), true);
    }

    /** Everything either request asks for. */
    public TeacherRequest and(TeacherRequest o) {
        return new TeacherRequest(logits || o.logits, union(cls, o.cls), union(hidden, o.hidden),
                union(attentionScores, o.attentionScores), union(attentionProbs, o.attentionProbs),
                maskedLm || o.maskedLm);
    }

    /** Whether the teacher is needed at all. */
    public boolean isEmpty() {
        return !logits && cls.isEmpty() && hidden.isEmpty() && attentionScores.isEmpty() && attentionProbs.isEmpty()
                && !maskedLm;
    }

    /**
     * Whether the answers can be computed once per example before training: attention
     * probabilities are left out (no term that reads them runs for many epochs), and masked-LM
     * logits depend on the masking drawn at each step. Attention scores can be kept; whether they
     * fit is the cache's decision.
     */
    public boolean cacheable() {
        return attentionProbs.isEmpty() && !maskedLm;
    }

    /** Whether the teacher must run its encoder on the batch (everything but logits-only and masked-LM needs it). */
    public boolean needsStates() {
        return !cls.isEmpty() || !hidden.isEmpty() || !attentionScores.isEmpty() || !attentionProbs.isEmpty();
    }

    private static Set<Integer> union(Set<Integer> a, Set<Integer> b) {
        Set<Integer> u = new TreeSet<>(a);
        u.addAll(b);
        return u;
    }
}
