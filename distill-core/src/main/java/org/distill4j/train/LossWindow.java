package org.distill4j.train;

import java.util.LinkedHashMap;
import java.util.Map;

/** Loss values, gradient norms and throughput averaged over the updates since the window opened. */
final class LossWindow {
    private final Map<String, Double> sums = new LinkedHashMap<>();
    private int updates;
    private long examples;
    private double normSum;
    private final long start = System.nanoTime();

    void add(TrainingListener.Update u) {
        u.values().forEach((k, v) -> sums.merge(k, (double) v, Double::sum));
        updates++;
        examples += u.examples();
        normSum += u.gradNorm();
    }

    double rate() {
        return examples / Math.max(1e-9, (System.nanoTime() - start) / 1e9);
    }

    /** The means for a progress bar. */
    String message() {
        if (updates == 0) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        sums.forEach((k, v) -> b.append(String.format(" %s %.4f", k, v / updates)));
        return b.append(String.format("  %.1f ex/s", rate())).toString();
    }

    /** The means for {@code metrics.jsonl}, after the fields that place them. */
    Map<String, Object> line(Map<String, Object> head) {
        Map<String, Object> m = new LinkedHashMap<>(head);
        sums.forEach((k, v) -> m.put(k, v / Math.max(1, updates)));
        m.put("grad_norm", normSum / Math.max(1, updates));
        m.put("examples_per_second", rate());
        return m;
    }
}
