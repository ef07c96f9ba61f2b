package org.distill4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link Trainer#stress} saw: the same updates' gradients computed again and again from one
 * checkpoint, none applied. Identical inputs, seeds and weights each time, and this machine's
 * kernels are repeatable, so every computation of an update must give the same gradients to the
 * bit. Two kinds of event break that: a computation whose gradients are not finite, and a finite
 * one that differs from the update's other computations (silent corruption, the far more frequent
 * sign of the same fault).
 *
 * @param updates updates per repeat, from the checkpoint's step
 * @param repeats how many times they were computed
 * @param computed update computations in all
 * @param events one line per non-finite computation: repeat, update, the parameters hit
 * @param differing one line per finite computation whose gradients or losses differ from its
 *     update's most frequent result: repeat, update, the parameters that differ
 * @param seconds wall time of the computations
 */
public record StressResult(int updates, int repeats, int computed, List<String> events, List<String> differing,
        double seconds) {

    /**
     * One computation of an update.
     *
     * @param repeat which repeat, from 1
     * @param update the update's number in the run, from 1
     * @param finiteLoss whether every loss was finite (if not, the gradients are incomplete)
     * @param values each loss term's value
     * @param squares each parameter's squared gradient norm, in the optimizer's order
     */
    public record Computation(int repeat, int update, boolean finiteLoss, Map<String, Float> values,
            double[] squares) {

        /** Whether the loss and every gradient were finite. */
        public boolean finite() {
            return finiteLoss && Arrays.stream(squares).allMatch(Double::isFinite);
        }

        /** Bit-exact identity of what was computed. */
        String fingerprint() {
            StringBuilder b = new StringBuilder();
            values.forEach((k, v) -> b.append(k).append('=').append(Float.floatToRawIntBits(v)).append(';'));
            for (double d : squares) {
                b.append(Long.toHexString(Double.doubleToRawLongBits(d))).append(',');
            }
            return b.toString();
        }
    }

    /**
     * Sorts the computations of each update into events.
     *
     * @param names the parameters, in the order of {@link Computation#squares}
     * @param byUpdate each update's computations, one per repeat
     */
    public static StressResult of(List<String> names, List<List<Computation>> byUpdate, double seconds) {
        List<String> events = new ArrayList<>();
        List<String> differing = new ArrayList<>();
        int computed = 0;
        int repeats = 0;
        for (List<Computation> all : byUpdate) {
            computed += all.size();
            repeats = Math.max(repeats, all.size());
            List<String> prints = all.stream().map(Computation::fingerprint).toList();
            Map<String, Integer> counts = new LinkedHashMap<>();
            Map<String, Computation> firstOf = new LinkedHashMap<>();
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).finite()) {
                    counts.merge(prints.get(i), 1, Integer::sum);
                    firstOf.putIfAbsent(prints.get(i), all.get(i));
                }
            }
            String mode = counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                    .orElse(null);
            for (int i = 0; i < all.size(); i++) {
                Computation c = all.get(i);
                if (!c.finite()) {
                    events.add(String.format("repeat %d, update %d: %s", c.repeat(), c.update(), c.finiteLoss()
                            ? "non-finite gradients in " + fromTheTop(names, nonFinite(c.squares()), names.size())
                            : "the loss is not finite"));
                } else if (!prints.get(i).equals(mode)) {
                    Computation ref = firstOf.get(mode);
                    differing.add(String.format("repeat %d, update %d: differs from %d of %d computations in %s",
                            c.repeat(), c.update(), counts.get(mode), all.size(), describeDifference(names, ref, c)));
                }
            }
        }
        return new StressResult(byUpdate.size(), repeats, computed, List.copyOf(events), List.copyOf(differing),
                seconds);
    }

    private static List<Integer> nonFinite(double[] squares) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < squares.length; i++) {
            if (!Double.isFinite(squares[i])) {
                out.add(i);
            }
        }
        return out;
    }

    private static String describeDifference(List<String> names, Computation ref, Computation c) {
        List<Integer> idx = new ArrayList<>();
        double largest = 0;
        for (int i = 0; i < c.squares().length; i++) {
            if (Double.doubleToRawLongBits(c.squares()[i]) != Double.doubleToRawLongBits(ref.squares()[i])) {
                idx.add(i);
                double base = Math.abs(ref.squares()[i]);
                largest = Math.max(largest, Math.abs(c.squares()[i] - ref.squares()[i]) / (base == 0 ? 1 : base));
            }
        }
        String losses = c.values().equals(ref.values()) ? "" : " (the losses differ too)";
        return idx.isEmpty() ? "its losses only" : String.format("%s; largest relative change of a squared norm "
                + "%.3g%s", fromTheTop(names, idx, names.size()), largest, losses);
    }

    /**
     * The parameters at {@code idx}, last first: a fault in the backward pass reaches every
     * parameter below it, so the last one named in model order is where it entered.
     */
    private static String fromTheTop(List<String> names, List<Integer> idx, int of) {
        List<String> picked = new ArrayList<>();
        for (int k = idx.size() - 1; k >= 0; k--) {
            picked.add(names.get(idx.get(k)));
        }
        return UpdateStep.listed(picked, of);
    }

    /** One line for a log, then the events. */
    public String summary() {
        StringBuilder s = new StringBuilder(String.format("%d non-finite and %d differing of %d update computations "
                + "(%d updates x %d repeats, %.0f s)", events.size(), differing.size(), computed, updates, repeats,
                seconds));
        events.forEach(e -> s.append("\n  ").append(e));
        differing.forEach(e -> s.append("\n  ").append(e));
        return s.toString();
    }
}
