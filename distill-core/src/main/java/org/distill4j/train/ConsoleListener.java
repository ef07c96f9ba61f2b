package org.distill4j.train;

import me.tongfei.progressbar.ProgressBar;

/** The console side of a run: a progress bar per stage with the running loss terms, and notes on stderr. */
final class ConsoleListener implements TrainingListener {

    private final int logEvery;
    private ProgressBar bar;
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
        bar = ConsoleProgress.start(stage.of() > 1 ? stage.name() : "train", stage.steps(), stage.startStep(),
                " steps");
        window = new LossWindow();
    }

    @Override
    public void updated(Update u) {
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
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
