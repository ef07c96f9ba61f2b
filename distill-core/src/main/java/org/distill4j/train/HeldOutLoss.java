package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distill4j.loss.StepContext;
import org.distill4j.loss.TeacherOutputs;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;
import org.distill4j.model.ForwardOptions;
import org.distill4j.text.TokenBatch;

/**
 * Scores a student by its distillation loss on held-out data, for stages that have no task to
 * evaluate (general distillation on unlabelled text): the weighted terms summed, both models in
 * inference mode, averaged over examples. Higher score is better, so the score is the loss negated;
 * the metrics hold the loss and each term.
 */
public final class HeldOutLoss implements Trainer.Evaluator {

    private final BertModel teacher;
    private final org.distill4j.text.BertTokenizer tokenizer;
    private final TrainingData data;
    private final List<WeightedTerm> terms;
    private final int batchSize;

    public HeldOutLoss(BertModel teacher, org.distill4j.text.BertTokenizer tokenizer, TrainingData data,
            List<WeightedTerm> terms, int batchSize) {
        this.teacher = teacher;
        this.tokenizer = tokenizer;
        this.data = data;
        this.terms = List.copyOf(terms);
        this.batchSize = batchSize;
    }

    @Override
    public Trainer.Score evaluate(BertModel student) {
        TeacherRequest request = TeacherRequest.NONE;
        for (WeightedTerm t : terms) {
            request = request.and(t.term().teacherRequest());
        }
        Map<String, Double> sums = new LinkedHashMap<>();
        double total = 0;
        int n = data.size();
        try (NDManager root = student.manager().newSubManager()) {
            ParameterStore ps = new ParameterStore(root, false);
            for (int start = 0; start < n; start += batchSize) {
                int[] idx = new int[Math.min(batchSize, n - start)];
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = start + i;
                }
                TokenBatch batch = data.batch(tokenizer, idx);
                try (NDManager s = root.newSubManager()) {
                    EncoderInput in = batch.toInput(s);
                    TeacherOutputs t = request.isEmpty() ? null : new LiveTeacher(teacher, ps, in, request, s);
                    EncoderOutput out = student.encode(ps, in, ForwardOptions.ALL, false);
                    NDArray logits = student.heads().taskOutputs() > 0 ? student.classify(ps, out, false) : null;
                    float[] gold = data.labels(idx);
                    StepContext ctx = new StepContext(ps, s, student, in, out, logits, t,
                            gold == null ? null : s.create(gold), false, new Random(start));
                    for (WeightedTerm term : terms) {
                        double v = term.term().compute(ctx).getFloat() * idx.length;
                        sums.merge(term.name(), v, Double::sum);
                        total += v * term.schedule().at(0, 1);
                    }
                }
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("loss", total / n);
        sums.forEach((k, v) -> metrics.put(k, v / n));
        StringBuilder summary = new StringBuilder(String.format("held-out loss %.4f (", total / n));
        sums.forEach((k, v) -> summary.append(summary.charAt(summary.length() - 1) == '(' ? "" : ", ").append(k)
                .append(' ').append(String.format("%.4f", v / n)));
        return new Trainer.Score(-total / n, metrics, summary.append(')').toString());
    }
}
