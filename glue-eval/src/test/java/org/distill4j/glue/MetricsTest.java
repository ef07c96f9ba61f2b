package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Metric values worked out by hand (and matching scikit-learn / SciPy on the same inputs). */
class MetricsTest {

    // gold 1,1,1,0 vs predicted 1,0,1,1: TP 2, TN 0, FP 1, FN 1.
    static final int[] GOLD = {1, 1, 1, 0};
    static final int[] PRED = {1, 0, 1, 1};

    @Test
    void accuracyF1AndMatthewsOnAWorkedExample() {
        assertEquals(0.5, Metrics.accuracy(PRED, GOLD), 1e-12);
        assertEquals(4.0 / 6.0, Metrics.f1(PRED, GOLD), 1e-12); // 2TP / (2TP + FP + FN)
        // (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (0 − 1) / sqrt(3·3·1·1)
        assertEquals(-1.0 / 3.0, Metrics.matthewsCorrelation(PRED, GOLD), 1e-12);
        assertEquals(1.0, Metrics.matthewsCorrelation(GOLD, GOLD), 1e-12);
        assertEquals(-1.0, Metrics.matthewsCorrelation(new int[] {0, 1}, new int[] {1, 0}), 1e-12);
    }

    @Test
    void constantPredictionsAndEmptyClassesGiveZeroNotNaN() {
        int[] allOnes = {1, 1, 1, 1};
        assertEquals(0.0, Metrics.matthewsCorrelation(allOnes, GOLD), 0); // TN + FN = 0
        assertEquals(0.0, Metrics.matthewsCorrelation(PRED, allOnes), 0); // gold has no negative class
        assertEquals(0.0, Metrics.f1(new int[] {0, 0}, new int[] {0, 0}), 0); // no positives anywhere
        assertEquals(0.75, Metrics.accuracy(allOnes, GOLD), 0);
        assertEquals(6.0 / 7.0, Metrics.f1(allOnes, GOLD), 1e-12);
        assertEquals(0.0, Metrics.pearson(new double[] {2, 2, 2}, new double[] {1, 2, 3}), 0);
        assertEquals(0.0, Metrics.spearman(new double[] {1, 2, 3}, new double[] {4, 4, 4}), 0);
    }

    @Test
    void pearsonAndSpearmanWithTies() {
        double[] x = {1, 2, 3, 4, 5};
        double[] y = {2, 4, 5, 4, 5};
        // dx = -2..2, dy = -2,0,1,0,1: Sxy = 6, Sxx = 10, Syy = 6.
        assertEquals(6 / Math.sqrt(60), Metrics.pearson(x, y), 1e-12);
        // ranks of y with ties averaged: 1, 2.5, 4.5, 2.5, 4.5; Sxy = 7, Sxx = 10, Syy = 9.
        assertArrayEquals(new double[] {1, 2.5, 4.5, 2.5, 4.5}, Metrics.ranks(y), 0);
        assertEquals(7 / Math.sqrt(90), Metrics.spearman(x, y), 1e-12); // scipy: 0.7378647873726218
        assertEquals(1.0, Metrics.spearman(x, new double[] {10, 20, 30, 40, 50}), 1e-12);
        assertEquals(-1.0, Metrics.pearson(x, new double[] {5, 4, 3, 2, 1}), 1e-12);
    }

    @Test
    void taskScoresCombineTheirMetricsAsGlueDoes() {
        double[] g = {1, 1, 1, 0};
        double[] p = {1, 0, 1, 1};
        TaskScore mrpc = GlueMetric.F1_ACCURACY.score(p, g);
        assertEquals(Map.of("f1", 4.0 / 6.0, "accuracy", 0.5), mrpc.metrics());
        assertEquals((4.0 / 6.0 + 0.5) / 2, mrpc.score(), 1e-12);
        TaskScore sts = GlueMetric.PEARSON_SPEARMAN.score(new double[] {2, 4, 5, 4, 5}, new double[] {1, 2, 3, 4, 5});
        assertEquals((6 / Math.sqrt(60) + 7 / Math.sqrt(90)) / 2, sts.score(), 1e-12);
        assertEquals(-1.0 / 3.0, GlueMetric.MATTHEWS.score(p, g).score(), 1e-12);
    }

    @Test
    void glueAverageCountsMnliMatchedAndMismatchedAsOneTask() {
        TaskScore a = new TaskScore(Map.of("accuracy", 0.8), 0.8);
        TaskScore b = new TaskScore(Map.of("accuracy", 0.6), 0.6);
        TaskScore c = new TaskScore(Map.of("mcc", 0.4), 0.4);
        // MNLI = (0.8 + 0.6) / 2 = 0.7; GLUE = (0.7 + 0.4) / 2
        assertEquals(0.55, TaskScore.glueAverage(Map.of(GlueTask.MNLI, List.of(a, b), GlueTask.COLA, List.of(c))),
                1e-12);
    }
}
