package org.distill4j.glue;

import java.util.LinkedHashMap;
import java.util.Map;

/** How each GLUE task is scored (Wang et al. 2019, table 1). */
public enum GlueMetric {
    /** SST-2, MNLI, QNLI, RTE, WNLI. */
    ACCURACY,
    /** MRPC and QQP: F1 of the positive class and accuracy, scored as their mean. */
    F1_ACCURACY,
    /** CoLA: Matthews correlation. */
    MATTHEWS,
    /** STS-B: Pearson and Spearman correlation, scored as their mean. */
    PEARSON_SPEARMAN;

    /**
     * @param predicted class indices, or scores for STS-B
     * @param gold the gold labels, same encoding
     */
    public TaskScore score(double[] predicted, double[] gold) {
        Map<String, Double> m = new LinkedHashMap<>();
        switch (this) {
            case ACCURACY -> m.put("accuracy", Metrics.accuracy(ints(predicted), ints(gold)));
            case F1_ACCURACY -> {
                m.put("f1", Metrics.f1(ints(predicted), ints(gold)));
                m.put("accuracy", Metrics.accuracy(ints(predicted), ints(gold)));
            }
            case MATTHEWS -> m.put("mcc", Metrics.matthewsCorrelation(ints(predicted), ints(gold)));
            default -> {
                m.put("pearson", Metrics.pearson(predicted, gold));
                m.put("spearman", Metrics.spearman(predicted, gold));
            }
        }
        double score = m.values().stream().mapToDouble(Double::doubleValue).average().orElse(0);
        return new TaskScore(m, score);
    }

    private static int[] ints(double[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (int) Math.round(v[i]);
        }
        return out;
    }
}
