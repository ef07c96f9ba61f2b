package org.distill4j.train;

import java.util.Map;

/**
 * Hears what a run does: stages starting and ending, updates, skipped and recomputed updates,
 * evaluations. Logging, the console and keeping the best model are listeners, so the loop itself
 * neither prints nor writes result files.
 */
public interface TrainingListener {

    /**
     * A stage as the run sees it.
     *
     * @param index 0-based; {@code of} stages in all
     * @param steps the stage's updates; {@code startStep} of them done before this process (resume)
     */
    record StageInfo(int index, int of, String name, int steps, int startStep, Stage.Selection selection) {
        public boolean last() {
            return index == of - 1;
        }
    }

    /**
     * One update, applied or skipped.
     *
     * @param step updates of the stage done, this one included
     * @param epoch epochs of the stage done, fractional
     * @param values each term's unweighted value and {@code loss}, the weighted total, averaged over micro-batches
     * @param weights the weight of each term whose weight follows a schedule (constant ones left out)
     * @param end whether this was the stage's last update
     * @param applied false for a skipped update (its values are then not to be averaged in)
     */
    record Update(StageInfo stage, int step, double epoch, float learningRate, Map<String, Float> values,
            Map<String, Float> weights, float gradNorm, int examples, boolean end, boolean applied) {}

    default void stageStarted(StageInfo stage) {}

    default void updated(Update update) {}

    /** An update was not applied: its loss or gradients were not finite ({@link #updated} follows). */
    default void skipped(StageInfo stage, int step, String why) {}

    /** An update's gradients came out non-finite, and computed again they were finite. */
    default void recomputed(StageInfo stage, int step, String why) {}

    /**
     * Whether the student after update {@code step} may become the stage's best model: a listener
     * that is still changing what the student is (magnitude pruning on its way to its sparsity)
     * says no, and the evaluation is logged but not kept. The stage's last evaluation must be
     * allowed.
     */
    default boolean selectable(StageInfo stage, int step) {
        return true;
    }

    /**
     * The student was scored.
     *
     * @param best whether it is the best of the stage so far (for {@link Stage.Selection#LAST}: the stage's end)
     */
    default void evaluated(StageInfo stage, Trainer.Evaluation evaluation, boolean best, double seconds) {}

    default void stageEnded(StageInfo stage) {}
}
