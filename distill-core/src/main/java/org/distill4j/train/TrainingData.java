package org.distill4j.train;

import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * What a stage trains on: a number of examples, each with a length (to bucket batches) and,
 * for labelled data, a label. Two kinds: {@link Examples}, labelled task data held in memory, and
 * {@link TextCorpus}, unlabelled text read from a file as batches need it (general distillation).
 */
public interface TrainingData {

    /** Examples, indexed from 0. */
    int size();

    /** Each example's length proxy (characters or bytes), which orders batches and teacher passes. */
    int[] lengths();

    /** The gold labels of examples {@code idx}, or null when the data has no labels. */
    float[] labels(int[] idx);

    /** Examples {@code idx}, tokenized and padded to their longest. */
    TokenBatch batch(BertTokenizer tokenizer, int[] idx);
}
