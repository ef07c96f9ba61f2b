package org.distill4j.train;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Map;
import org.distill4j.loss.TeacherOutputs;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.model.EncoderInput;

/** One batch's cached teacher outputs. */
record CachedTeacher(TeacherRequest request, NDArray logits, List<NDArray> cls, Map<Integer, NDArray> hidden,
        Map<Integer, NDArray> scores) implements TeacherOutputs {

    @Override
    public NDArray logits() {
        return LiveTeacher.require(logits, "logits", request.logits());
    }

    @Override
    public NDArray cls(int layer) {
        return LiveTeacher.require(cls, "[CLS] state after layer " + layer, request.cls().contains(layer))
                .get(layer);
    }

    @Override
    public NDArray hidden(int layer) {
        return LiveTeacher.require(hidden, "hidden states after layer " + layer,
                request.hidden().contains(layer)).get(layer);
    }

    @Override
    public NDArray attentionScores(int layer) {
        return LiveTeacher.require(scores, "attention scores of layer " + layer,
                request.attentionScores().contains(layer)).get(layer);
    }

    @Override
    public NDArray attentionProbs(int layer) {
        throw new IllegalStateException("attention probabilities are never cached; the trainer runs the teacher "
                + "live when a term requests them");
    }

    @Override
    public NDArray maskedLmLogits(EncoderInput masked, NDArray positions) {
        throw new IllegalStateException("masked-LM logits are never cached; the trainer runs the teacher live "
                + "when a term requests them");
    }
}
