package org.distill4j.train;

import org.distill4j.model.BertModel;

/**
 * Hands the student to a {@link Trainer.BestModelSink} whenever the last stage's chosen model
 * changes: at each new best on dev, or at the end for a stage that keeps its last model.
 */
final class BestModelKeeper implements TrainingListener {

    private final BertModel student;
    private final Trainer.BestModelSink sink;

    BestModelKeeper(BertModel student, Trainer.BestModelSink sink) {
        this.student = student;
        this.sink = sink;
    }

    @Override
    public void evaluated(StageInfo stage, Trainer.Evaluation evaluation, boolean best, double seconds) {
        if (stage.last() && best) {
            sink.save(student, evaluation);
        }
    }
}
