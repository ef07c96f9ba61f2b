package org.distill4j.glue;

import java.io.Serializable;

/**
 * One GLUE example. Serializable, so that a distributed job can ship examples to its workers.
 *
 * @param index the example's index: the file's index column for test files, else the row number from 0
 * @param textA the first (or only) text
 * @param textB the second text, or null for single-sentence tasks
 * @param label class index, or the similarity score for STS-B; NaN when unlabeled
 * @param line line number in the file (1-based), for messages
 */
public record Example(int index, String textA, String textB, double label, int line) implements Serializable {

    public boolean labeled() {
        return !Double.isNaN(label);
    }
}
