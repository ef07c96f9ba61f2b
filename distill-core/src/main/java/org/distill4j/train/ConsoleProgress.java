package org.distill4j.train;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars for long loops, on stderr. In a terminal they redraw five times a second; when
 * stderr is a file or a CI log they print a plain line every 30 seconds (no cursor movement, no
 * cut at 80 columns), so logs stay readable.
 */
public final class ConsoleProgress {

    private ConsoleProgress() {}

    /** A bar counting to {@code max}, already advanced by {@code done} (for resumed runs). */
    public static ProgressBar start(String task, long max, long done, String unit) {
        boolean terminal = System.console() != null;
        return new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(unit, 1)
                .setUpdateIntervalMillis(terminal ? 200 : 30_000)
                .continuousUpdate()
                .setConsumer(terminal ? new InteractiveConsoleProgressBarConsumer(System.err)
                        : new DelegatingProgressBarConsumer(System.err::println, 150))
                .startsFrom(done, java.time.Duration.ZERO)
                .build();
    }
}
