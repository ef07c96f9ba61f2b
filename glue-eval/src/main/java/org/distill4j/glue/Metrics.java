package org.distill4j.glue;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The metric functions GLUE scores with, as scikit-learn and SciPy define them (the GLUE
 * reference implementation calls those). Inputs are class indices (positive class 1) or real
 * scores. Where a metric is undefined (no variance, an empty class) it is 0, as scikit-learn
 * returns for Matthews correlation and F1; SciPy returns NaN for a constant input to Pearson and
 * Spearman, and 0 is reported instead so that averages stay defined.
 */
public final class Metrics {

    private Metrics() {}

    public static double accuracy(int[] predicted, int[] gold) {
        check(predicted.length, gold.length);
        int correct = 0;
        for (int i = 0; i < gold.length; i++) {
            correct += predicted[i] == gold[i] ? 1 : 0;
        }
        return gold.length == 0 ? 0 : correct / (double) gold.length;
    }

    /** F1 of the positive class (label 1): 2·TP / (2·TP + FP + FN). */
    public static double f1(int[] predicted, int[] gold) {
        Confusion c = Confusion.of(predicted, gold);
        double denom = 2 * c.tp + c.fp + c.fn;
        return denom == 0 ? 0 : 2 * c.tp / denom;
    }

    /** Matthews correlation coefficient of binary predictions (the CoLA metric). */
    public static double matthewsCorrelation(int[] predicted, int[] gold) {
        Confusion c = Confusion.of(predicted, gold);
        double denom = Math.sqrt((c.tp + c.fp) * (c.tp + c.fn) * (c.tn + c.fp) * (c.tn + c.fn));
        return denom == 0 ? 0 : (c.tp * c.tn - c.fp * c.fn) / denom;
    }

    /** Counts of a binary confusion matrix, positive class 1. */
    private record Confusion(double tp, double tn, double fp, double fn) {
        static Confusion of(int[] predicted, int[] gold) {
            check(predicted.length, gold.length);
            double tp = 0;
            double tn = 0;
            double fp = 0;
            double fn = 0;
            for (int i = 0; i < gold.length; i++) {
                boolean p = predicted[i] == 1;
                boolean g = gold[i] == 1;
                if (p && g) {
                    tp++;
                } else if (!p && !g) {
                    tn++;
                } else if (p) {
                    fp++;
                } else {
                    fn++;
                }
            }
            return new Confusion(tp, tn, fp, fn);
        }
    }

    public static double pearson(double[] x, double[] y) {
        check(x.length, y.length);
        int n = x.length;
        if (n == 0) {
            return 0;
        }
        double mx = Arrays.stream(x).average().orElse(0);
        double my = Arrays.stream(y).average().orElse(0);
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < n; i++) {
            double dx = x[i] - mx;
            double dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.sqrt(sxx * syy);
    }

    /** Spearman's rank correlation: Pearson of the ranks, tied values sharing their average rank. */
    public static double spearman(double[] x, double[] y) {
        check(x.length, y.length);
        return pearson(ranks(x), ranks(y));
    }

    /** 1-based ranks with ties averaged, as scipy.stats.rankdata(method='average'). */
    static double[] ranks(double[] v) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> v[i]));
        double[] r = new double[v.length];
        int i = 0;
        while (i < order.length) {
            int j = i;
            while (j + 1 < order.length && v[order[j + 1]] == v[order[i]]) {
                j++;
            }
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                r[order[k]] = avg;
            }
            i = j + 1;
        }
        return r;
    }

    private static void check(int a, int b) {
        if (a != b) {
            throw new IllegalArgumentException(a + " predictions for " + b + " gold labels");
        }
    }
}
