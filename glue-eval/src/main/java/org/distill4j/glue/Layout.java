package org.distill4j.glue;

/**
 * Where things are in one GLUE TSV file.
 *
 * @param header whether the first line is a header
 * @param columns exact number of tab-separated fields in every row
 * @param indexColumn column of the example index (test files), or -1 to number rows from 0
 * @param textA column of the first text
 * @param textB column of the second text, or -1 for single-sentence tasks
 * @param labelColumn column of the gold label, or -1 when the file is unlabeled
 */
public record Layout(boolean header, int columns, int indexColumn, int textA, int textB, int labelColumn) {

    public boolean labeled() {
        return labelColumn >= 0;
    }
}
