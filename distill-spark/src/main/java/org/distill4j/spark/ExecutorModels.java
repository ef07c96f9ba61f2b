package org.distill4j.spark;

import java.util.HashMap;
import java.util.Map;
import org.distill4j.weights.Checkpoint;

/**
 * The checkpoints an executor JVM has read, by the path or builtin name they came from: a model is
 * read from shared storage once per executor, however many tasks (partitions) the executor runs.
 * Each task builds its own native model from the shared checkpoint, so that concurrent tasks never
 * share PyTorch state.
 */
final class ExecutorModels {

    private static final Map<String, Checkpoint> LOADED = new HashMap<>();

    private ExecutorModels() {}

    /** The checkpoint at {@code spec}, read on first use in this JVM. */
    static synchronized Checkpoint checkpoint(String spec) {
        return LOADED.computeIfAbsent(spec, Checkpoint::load);
    }
}
