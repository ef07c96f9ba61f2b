package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.Scalar;

/**
 * Attention transfer between mapped layers, summed over layer pairs. Three forms:
 * <ul>
 *   <li>{@link Kind#SCORES_MSE}: MSE of the scaled scores QK^T/√d before softmax, which TinyBERT
 *       (Jiao et al. 2020, eq. 7) found to converge faster than matching probabilities;</li>
 *   <li>{@link Kind#PROBS_MSE}: MSE of the attention probabilities;</li>
 *   <li>{@link Kind#PROBS_KL}: KL(teacher ‖ student) of each query's attention distribution, as in
 *       MiniLM (Wang et al. 2020).</li>
 * </ul>
 * Only cells whose query and key are both real tokens count. Student and teacher must have the
 * same number of heads.
 */
public final class AttentionLoss implements LossTerm {

    /** Which attention quantity is matched, and how. */
    public enum Kind { SCORES_MSE, PROBS_MSE, PROBS_KL }

    private final LayerMapping mapping;
    private final Kind kind;

    public AttentionLoss(LayerMapping mapping, Kind kind) {
        for (LayerMapping.Pair p : mapping.pairs()) {
            if (p.student() == 0 || p.teacher() == 0) {
                throw new IllegalArgumentException("attention losses map transformer layers (1 and up); mapping "
                        + mapping + " names layer 0, the embeddings, which have no attention");
            }
        }
        this.mapping = mapping;
        this.kind = kind;
    }

    /**
     * @param student [batch, heads, seq, seq]; @param teacher the same shape
     * @param mask [batch, seq], 1 for real tokens
     */
    public static NDArray of(NDArray student, NDArray teacher, NDArray mask, Kind kind) {
        if (!student.getShape().equals(teacher.getShape())) {
            throw new IllegalArgumentException("attention maps differ in shape: student " + student.getShape()
                    + ", teacher " + teacher.getShape() + " (the attention losses need as many heads in both)");
        }
        NDArray cells = TokenMask.perAttentionCell(mask);
        long heads = student.getShape().get(1);
        if (kind == Kind.PROBS_KL) {
            // Per query row: Σ_k p_t (log p_t − log p_s); padding keys have p = 0 and are masked out,
            // clamping keeps 0·log 0 from turning into NaN.
            NDArray logT = Scalar.max(teacher, 1e-12f).log();
            NDArray logS = Scalar.max(student, 1e-12f).log();
            NDArray perRow = teacher.mul(logT.sub(logS)).mul(cells).sum(new int[] {3});
            NDArray rows = TokenMask.perToken(mask).squeeze(2).expandDims(1); // [batch, 1, seq]
            return perRow.mul(rows).sum().div(rows.sum().mul(heads));
        }
        return TokenMask.maskedMean(student.sub(teacher).square(), cells, heads);
    }

    @Override
    public NDArray compute(StepContext s) {
        TeacherOutputs t = s.requireTeacher(name());
        var st = s.studentOut();
        boolean scores = kind == Kind.SCORES_MSE;
        return mapping.sum(p -> of(
                scores ? st.scores(p.student()) : st.probs(p.student()),
                scores ? t.attentionScores(p.teacher()) : t.attentionProbs(p.teacher()),
                s.input().attentionMask(), kind));
    }

    @Override
    public String name() {
        return "attention_" + kind.name().toLowerCase(java.util.Locale.ROOT);
    }


    @Override
    public TeacherRequest teacherRequest() {
        return kind == Kind.SCORES_MSE ? TeacherRequest.scoresOf(mapping.teacherLayers())
                : TeacherRequest.probsOf(mapping.teacherLayers());
    }
}
