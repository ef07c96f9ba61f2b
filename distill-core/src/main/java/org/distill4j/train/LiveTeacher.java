package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.distill4j.loss.TeacherOutputs;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;

/**
 * The frozen teacher run on the step's batch, in inference mode: its encoder once per batch when a
 * term reads its states or logits, and again on each masked copy a masked-LM term makes. Its
 * parameters take no gradient, so autograd records nothing of these passes.
 *
 * <p>Each pass runs in a scratch manager and keeps only what the stage requested: the other
 * intermediate arrays (every layer's queries, keys, scores and probabilities: over a gigabyte for a
 * 12-layer teacher on 32 × 128 tokens) are freed before the student's forward instead of at the end
 * of the step, so the step needs less fresh memory.
 */
final class LiveTeacher implements TeacherOutputs {

    private final BertModel teacher;
    private final ParameterStore ps;
    private final TeacherRequest request;
    private final NDManager step;
    private final NDArray logits;
    private final Map<String, NDArray> kept = new HashMap<>();

    LiveTeacher(BertModel teacher, ParameterStore ps, EncoderInput input, TeacherRequest request, NDManager step) {
        this.teacher = teacher;
        this.ps = ps;
        this.request = request;
        this.step = step;
        logits = !request.needsStates() && !request.logits() ? null : scratch(input, out -> {
            NDArray l = request.logits() ? keep(teacher.classify(ps, out, false)) : null;
            request.cls().forEach(k -> kept.put("cls" + k, keep(out.cls(k))));
            request.hidden().forEach(k -> kept.put("hidden" + k, keep(out.hidden(k))));
            request.attentionScores().forEach(k -> kept.put("scores" + k, keep(out.scores(k))));
            request.attentionProbs().forEach(k -> kept.put("probs" + k, keep(out.probs(k))));
            return l;
        });
    }

    /** Runs the teacher on {@code input} in a scratch manager; what {@code use} keeps survives it. */
    private <T> T scratch(EncoderInput input, Function<EncoderOutput, T> use) {
        try (NDManager scratch = step.newSubManager()) {
            // Results take the manager of their first operand: the inputs, here for the pass only.
            input.inputIds().tempAttach(scratch);
            input.tokenTypeIds().tempAttach(scratch);
            input.attentionMask().tempAttach(scratch);
            return use.apply(teacher.encode(ps, input, false));
        }
    }

    private NDArray keep(NDArray a) {
        a.attach(step);
        return a;
    }

    @Override
    public NDArray logits() {
        return require(logits, "logits", request.logits());
    }

    @Override
    public NDArray cls(int layer) {
        return require(kept.get("cls" + layer), "[CLS] state after layer " + layer, request.cls().contains(layer));
    }

    @Override
    public NDArray hidden(int layer) {
        return require(kept.get("hidden" + layer), "hidden states after layer " + layer,
                request.hidden().contains(layer));
    }

    @Override
    public NDArray attentionScores(int layer) {
        return require(kept.get("scores" + layer), "attention scores of layer " + layer,
                request.attentionScores().contains(layer));
    }

    @Override
    public NDArray attentionProbs(int layer) {
        return require(kept.get("probs" + layer), "attention probabilities of layer " + layer,
                request.attentionProbs().contains(layer));
    }

    @Override
    public NDArray maskedLmLogits(EncoderInput masked, NDArray positions) {
        require(masked, "masked-LM logits", request.maskedLm());
        return scratch(masked, out -> keep(teacher.maskedLmLogits(ps,
                out.lastHidden().reshape(-1, teacher.config().hiddenSize()).get(positions), false)));
    }

    /** Refuses what no term asked for: an undeclared need would silently defeat the teacher cache. */
    static <T> T require(T value, String what, boolean requested) {
        if (!requested || value == null) {
            throw new IllegalStateException("the teacher's " + what + " were not requested: a term that reads them "
                    + "must say so in its teacherRequest()");
        }
        return value;
    }
}
