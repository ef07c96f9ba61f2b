package org.distill4j.train;

import java.util.List;

/**
 * How one micro-batch becomes gradients: the student runs each sub-network on the batch, the
 * stage's weighted terms are summed over each forward, and each sum is back-propagated at once,
 * so gradients add up across sub-networks while only one forward's activations are alive at a
 * time. The teacher's outputs are computed once per batch and shared. The default runs the whole
 * student once; DynaBERT runs every width (and depth) on each batch.
 *
 * @param subNetworks the forwards per micro-batch, in order
 */
public record StepObjective(List<SubNetwork> subNetworks) {

    /** One forward of the whole student: the weighted sum of the terms. */
    public static final StepObjective SINGLE = new StepObjective(List.of(SubNetwork.FULL));

    public StepObjective {
        subNetworks = List.copyOf(subNetworks);
        if (subNetworks.isEmpty()) {
            throw new IllegalArgumentException("a step objective needs at least one sub-network");
        }
        if (subNetworks.stream().map(SubNetwork::name).distinct().count() < subNetworks.size()) {
            throw new IllegalArgumentException("sub-network names must differ: " + subNetworks);
        }
    }

    /** Several forwards per micro-batch, their gradients summed. */
    public static StepObjective over(SubNetwork... subNetworks) {
        return new StepObjective(List.of(subNetworks));
    }

    /** The name a term's value is logged under: its own for a single forward, {@code term@sub-network} otherwise. */
    String valueName(String term, SubNetwork n) {
        return subNetworks.size() == 1 ? term : term + "@" + n.name();
    }
}
