package org.distill4j.loss;

import java.util.Arrays;

/**
 * The weight of a loss term over a stage's updates: constant, linear from one value to another, or
 * piecewise constant. Kept apart from the terms so that a term is the quantity and a recipe decides
 * how much it counts, and when (e.g. annealing the hard-label weight, or switching a term on late).
 */
public sealed interface WeightSchedule {

    /** The weight at update {@code step} (0-based) of a stage of {@code steps} updates. */
    float at(int step, int steps);

    /** Whether the weight never changes (then it is not logged per update). */
    boolean constant();

    static WeightSchedule constant(float weight) {
        return new Constant(weight);
    }

    /** From {@code from} at the first update to {@code to} at the last, linearly. */
    static WeightSchedule linear(float from, float to) {
        return new Linear(from, to);
    }

    /**
     * {@code initial} until update {@code at[0]}, then {@code values[0]} until {@code at[1]}, and so on.
     *
     * @param at the updates (0-based, increasing) at which the weight changes
     */
    static WeightSchedule steps(float initial, int[] at, float[] values) {
        return new Steps(initial, at.clone(), values.clone());
    }

    /** One weight throughout. */
    record Constant(float weight) implements WeightSchedule {
        @Override
        public float at(int step, int steps) {
            return weight;
        }

        @Override
        public boolean constant() {
            return true;
        }

        @Override
        public String toString() {
            return String.format("%.3g", weight);
        }
    }

    /** A straight line from {@code from} to {@code to} over the stage. */
    record Linear(float from, float to) implements WeightSchedule {
        @Override
        public float at(int step, int steps) {
            return steps <= 1 ? from : from + (to - from) * step / (float) (steps - 1);
        }

        @Override
        public boolean constant() {
            return from == to;
        }

        @Override
        public String toString() {
            return String.format("%.3g→%.3g", from, to);
        }
    }

    /** Piecewise constant. */
    record Steps(float initial, int[] at, float[] values) implements WeightSchedule {
        public Steps {
            if (at.length != values.length) {
                throw new IllegalArgumentException("a step schedule needs one value per change, got " + at.length
                        + " changes and " + values.length + " values");
            }
            for (int i = 1; i < at.length; i++) {
                if (at[i] <= at[i - 1]) {
                    throw new IllegalArgumentException("a step schedule's changes must increase: " + Arrays.toString(at));
                }
            }
        }

        @Override
        public float at(int step, int steps) {
            float w = initial;
            for (int i = 0; i < at.length && step >= at[i]; i++) {
                w = values[i];
            }
            return w;
        }

        @Override
        public boolean constant() {
            return at.length == 0;
        }

        @Override
        public String toString() {
            return String.format("%.3g", initial) + " then " + Arrays.toString(values) + " at " + Arrays.toString(at);
        }
    }
}
