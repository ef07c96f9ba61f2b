package org.distill4j.glue;

/**
 * One file of a GLUE task.
 *
 * @param name the split's name: {@code train}, {@code dev}, {@code test}, or for MNLI
 *     {@code dev_matched}, {@code dev_mismatched}, {@code test_matched}, {@code test_mismatched},
 *     {@code ax} (the diagnostic set, predicted with the MNLI model)
 * @param file path relative to the GLUE directory, e.g. {@code SST-2/dev.tsv}
 * @param layout columns of the file
 * @param submissionFile name of the GLUE submission file for test splits, or null
 */
public record Split(String name, String file, Layout layout, String submissionFile) {

    public boolean isTest() {
        return submissionFile != null;
    }
}
