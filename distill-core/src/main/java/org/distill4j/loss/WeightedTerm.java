package org.distill4j.loss;

/**
 * A loss term and its weight over the updates. The trainer sums {@code weight × term} and logs
 * every term unweighted, under its name.
 */
public record WeightedTerm(LossTerm term, WeightSchedule schedule) {

    /** A term with one weight throughout. */
    public static WeightedTerm of(LossTerm term, float weight) {
        return new WeightedTerm(term, WeightSchedule.constant(weight));
    }

    public String name() {
        return term.name();
    }

    @Override
    public String toString() {
        return term.name() + " × " + schedule;
    }
}
