package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;
import org.distill4j.loss.TeacherOutputs;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;

/**
 * The frozen teacher run on the step's batch, in inference mode: its encoder once per batch when a
 * term reads its states or logits, and again on each masked copy a masked-LM term makes. Its
 * parameters take no gradient, so autograd records nothing of these passes.
 */
final class LiveTeacher implements TeacherOutputs {

    private final BertModel teacher;
    private final ParameterStore ps;
    private final TeacherRequest request;
    private final EncoderOutput out;
    private final NDArray logits;

    LiveTeacher(BertModel teacher, ParameterStore ps, EncoderInput input, TeacherRequest request) {
        this.teacher = teacher;
        this.ps = ps;
        this.request = request;
        out = request.needsStates() || request.logits() ? teacher.encode(ps, input, false) : null;
        logits = request.logits() ? teacher.classify(ps, out, false) : null;
    }

    @Override
    public NDArray logits() {
        return require(logits, "logits", request.logits());
    }

    @Override
    public NDArray cls(int layer) {
        return require(out, "[CLS] state after layer " + layer, request.cls().contains(layer)).cls(layer);
    }

    @Override
    public NDArray hidden(int layer) {
        return require(out, "hidden states after layer " + layer, request.hidden().contains(layer)).hidden(layer);
    }

    @Override
    public NDArray attentionScores(int layer) {
        return require(out, "attention scores of layer " + layer, request.attentionScores().contains(layer))
                .scores(layer);
    }

    @Override
    public NDArray attentionProbs(int layer) {
        return require(out, "attention probabilities of layer " + layer, request.attentionProbs().contains(layer))
                .probs(layer);
    }

    @Override
    public NDArray maskedLmLogits(EncoderInput masked, NDArray positions) {
        require(masked, "masked-LM logits", request.maskedLm());
        NDArray h = teacher.encode(ps, masked, false).lastHidden().reshape(-1, teacher.config().hiddenSize())
                .get(positions);
        return teacher.maskedLmLogits(ps, h, false);
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
