package org.distill4j.train;

import java.util.List;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.loss.WeightedTerm;

/**
 * One stage of a training plan: its weighted loss terms, how a batch becomes gradients, which
 * parameters train, its data, its optimizer and schedule overrides, and which of its models goes
 * on. TinyBERT runs two: intermediate layers first (kept at their last step), then the prediction
 * layer (chosen on dev). Each stage has a fresh optimizer and its own warm-up and decay. Unset
 * overrides (null) take the trainer's options.
 *
 * @param name a short name for logs, metrics and checkpoints
 * @param terms the weighted terms summed over each student forward
 * @param objective the student forwards per micro-batch
 * @param trainable the parameters that train; the rest is frozen in this stage
 * @param data the training examples, or null for the run's
 * @param epochs passes over the data, or null
 * @param learningRate the peak learning rate, or null
 * @param batchSize examples per micro-batch, or null
 * @param selection which model of the stage goes on to the next stage (and, in the last, is kept)
 * @param schedule how the learning rate moves over the stage
 * @param evalEvery evaluate every this many updates (0: at epoch ends when keeping the best on dev,
 *     else only at the stage's end), or null: the trainer's option for a stage that keeps the best on
 *     dev, only at the end for one that keeps the last
 */
public record Stage(String name, List<WeightedTerm> terms, StepObjective objective, ParameterSelection trainable,
        TrainingData data, Integer epochs, Float learningRate, Integer batchSize, Selection selection,
        Schedule schedule, Integer evalEvery) {

    /** How a stage's learning rate moves. */
    public enum Schedule {
        /** BERT's: linear warm-up over the trainer's warm-up share, then linear decay to 0. */
        LINEAR,
        /** The peak rate from first update to last (TinyBERT's reference code for intermediate layers). */
        CONSTANT
    }

    /** Which of a stage's models goes on. */
    public enum Selection {
        /** The one that scored best on dev: evaluated every {@code evalEvery} updates or epoch. */
        BEST_ON_DEV,
        /** The one at the stage's last update: evaluated once, at the end. */
        LAST
    }

    public Stage {
        terms = List.copyOf(terms);
        if (terms.isEmpty()) {
            throw new IllegalArgumentException("stage " + name + " needs at least one loss term");
        }
        if (terms.stream().map(WeightedTerm::name).distinct().count() < terms.size()) {
            throw new IllegalArgumentException("stage " + name + " has two terms of one name: " + terms);
        }
        if ((epochs != null && epochs < 1) || (batchSize != null && batchSize < 1) || (evalEvery != null && evalEvery < 0)
                || (learningRate != null && !(learningRate > 0))) {
            throw new IllegalArgumentException("stage " + name + ": epochs, batch size and learning rate must be "
                    + "positive");
        }
    }

    /** A stage that trains everything on the run's data with the trainer's options, keeping the best on dev. */
    public static Builder of(String name, List<WeightedTerm> terms) {
        return new Builder(name, terms);
    }

    /** This stage training {@code t} instead. */
    public Stage withTrainable(ParameterSelection t) {
        return new Stage(name, terms, objective, t, data, epochs, learningRate, batchSize, selection, schedule,
                evalEvery);
    }

    /** What the stage's terms read from the teacher, together. */
    public TeacherRequest teacherRequest() {
        TeacherRequest r = TeacherRequest.NONE;
        for (WeightedTerm t : terms) {
            r = r.and(t.term().teacherRequest());
        }
        return r;
    }

    int epochs(TrainerOptions o) {
        return epochs != null ? epochs : o.epochs();
    }

    float learningRate(TrainerOptions o) {
        return learningRate != null ? learningRate : o.learningRate();
    }

    int evalEvery(TrainerOptions o) {
        return evalEvery != null ? evalEvery : selection == Selection.BEST_ON_DEV ? o.evalEvery() : 0;
    }

    int batchSize(TrainerOptions o) {
        return batchSize != null ? batchSize : o.batchSize();
    }

    TrainingData data(TrainingData runData) {
        return data != null ? data : runData;
    }

    /** Sets a stage's optional parts. */
    public static final class Builder {
        private final String name;
        private final List<WeightedTerm> terms;
        private StepObjective objective = StepObjective.SINGLE;
        private ParameterSelection trainable = ParameterSelection.ALL;
        private TrainingData data;
        private Integer epochs;
        private Float learningRate;
        private Integer batchSize;
        private Selection selection = Selection.BEST_ON_DEV;
        private Schedule schedule = Schedule.LINEAR;
        private Integer evalEvery;

        private Builder(String name, List<WeightedTerm> terms) {
            this.name = name;
            this.terms = terms;
        }

        public Builder objective(StepObjective v) {
            objective = v;
            return this;
        }

        public Builder trainable(ParameterSelection v) {
            trainable = v;
            return this;
        }

        public Builder data(TrainingData v) {
            data = v;
            return this;
        }

        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        public Builder learningRate(float v) {
            learningRate = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder selection(Selection v) {
            selection = v;
            return this;
        }

        public Builder schedule(Schedule v) {
            schedule = v;
            return this;
        }

        public Builder evalEvery(int v) {
            evalEvery = v;
            return this;
        }

        public Stage build() {
            return new Stage(name, terms, objective, trainable, data, epochs, learningRate, batchSize, selection,
                    schedule, evalEvery);
        }
    }
}
