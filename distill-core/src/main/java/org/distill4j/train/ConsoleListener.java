package org.distill4j.train;

import me.tongfei.progressbar.ProgressBar;

/** The console side of a run: a progress bar per stage with the running loss terms, and notes on stderr. */
final class ConsoleListener implements TrainingListener {

    private final int logEvery;
    private ProgressBar bar;
    /** The stage whose bar starts at its first update in this process. */
    private StageInfo pending;
    private LossWindow window = new LossWindow();

    /** @param logEvery the bar shows means over this many updates, as the metrics file does */
    ConsoleListener(int logEvery) {
        this.logEvery = logEvery;
    }

    @Override
    public void stageStarted(StageInfo stage) {
        if (stage.of() > 1) {
            System.err.printf("stage %d of %d: %s, %d updates%n", stage.index() + 1, stage.of(), stage.name(),
                    stage.steps());
        }
        // The bar starts with the first update, not here: what a stage does before it (a pass of the
        // teacher over the data, with a bar of its own) would count in the bar's rate and make its ETA
        // hours too long.
        close();
        pending = stage;
        window = new LossWindow();
    }

    @Override
    public void updated(Update u) {
        if (bar == null && pending != null) {
            bar = ConsoleProgress.start(pending.of() > 1 ? pending.name() : "train", pending.steps(), u.step() - 1,
                    " steps");
            pending = null;
        }
        if (u.applied()) {
            window.add(u);
        }
        bar.step();
        bar.setExtraMessage(window.message());
        if (u.step() % logEvery == 0) {
            window = new LossWindow();
        }
    }

    @Override
    public void skipped(StageInfo stage, int step, String why) {
        System.err.printf("%nwarning: step %d skipped: %s%n", step, why);
    }

    @Override
    public void recomputed(StageInfo stage, int step, String why) {
        System.err.printf("%nnote: step %d had %s; computed again, it came out finite%n", step, why);
    }

    @Override
    public void evaluated(StageInfo stage, Trainer.Evaluation e, boolean best, double seconds) {
        System.err.printf("%nstep %d (epoch %.2f): %s  [%.0f s]%n", e.step(), e.epoch(), e.score().summary(), seconds);
    }

    @Override
    public void stageEnded(StageInfo stage) {
        close();
    }

    void close() {
        pending = null;
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
