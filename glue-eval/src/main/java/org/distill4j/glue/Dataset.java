package org.distill4j.glue;

import java.nio.file.Path;
import java.util.List;

/**
 * The examples of one split as read from disk.
 *
 * @param task the task
 * @param split the split
 * @param file the file read
 * @param examples the examples, in file order
 * @param skippedRows malformed rows skipped (only with skip-bad-rows)
 */
public record Dataset(GlueTask task, Split split, Path file, List<Example> examples, int skippedRows) {

    public int size() {
        return examples.size();
    }

    /** Gold labels in example order. */
    public double[] labels() {
        return examples.stream().mapToDouble(Example::label).toArray();
    }
}
