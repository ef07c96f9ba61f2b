package org.distill4j.train;

import java.util.ArrayList;
import java.util.List;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/** Labelled training examples held in memory: first texts, second texts (null for single-sentence tasks) and labels. */
public record Examples(List<String> first, List<String> second, float[] labels) implements TrainingData {

    public Examples {
        if (first.size() != labels.length || (second != null && second.size() != labels.length)) {
            throw new IllegalArgumentException("examples and labels differ in number");
        }
    }

    @Override
    public int size() {
        return labels.length;
    }

    /** Characters, a proxy of token count good enough to bucket batches by length. */
    int length(int i) {
        return first.get(i).length() + (second == null ? 0 : second.get(i).length());
    }

    @Override
    public int[] lengths() {
        int[] lengths = new int[size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = length(i);
        }
        return lengths;
    }

    @Override
    public float[] labels(int[] idx) {
        float[] gold = new float[idx.length];
        for (int i = 0; i < idx.length; i++) {
            gold[i] = labels[idx[i]];
        }
        return gold;
    }

    @Override
    public TokenBatch batch(BertTokenizer tok, int[] idx) {
        List<String> a = new ArrayList<>(idx.length);
        List<String> b = second == null ? null : new ArrayList<>(idx.length);
        for (int i : idx) {
            a.add(first.get(i));
            if (b != null) {
                b.add(second.get(i));
            }
        }
        return tok.batch(a, b);
    }
}
