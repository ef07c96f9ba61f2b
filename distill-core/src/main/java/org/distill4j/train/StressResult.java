package org.distill4j.train;

import java.util.List;

/**
 * What {@link Trainer#stress} saw: the same updates' gradients computed again and again from one
 * checkpoint, none applied. Identical inputs, seeds and weights each time: an update that is
 * non-finite in some repeats and not in others is a computation that is not repeatable.
 *
 * @param updates updates per repeat, from the checkpoint's step
 * @param repeats how many times they were computed
 * @param computed update computations in all
 * @param events one line per non-finite computation: repeat, update, the parameters hit
 * @param seconds wall time of the computations
 */
public record StressResult(int updates, int repeats, int computed, List<String> events, double seconds) {

    /** One line for a log, then the events. */
    public String summary() {
        StringBuilder s = new StringBuilder(String.format("%d non-finite of %d update computations (%d updates x %d "
                + "repeats, %.0f s)", events.size(), computed, updates, repeats, seconds));
        events.forEach(e -> s.append("\n  ").append(e));
        return s.toString();
    }
}
