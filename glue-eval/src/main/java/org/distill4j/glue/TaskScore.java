package org.distill4j.glue;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A task's metrics on one split and the single number GLUE reports for it.
 *
 * @param metrics each metric by name ({@code accuracy}, {@code f1}, {@code mcc}, {@code pearson},
 *     {@code spearman}), as fractions
 * @param score the task's GLUE score: the metric, or the mean of the task's two metrics
 */
public record TaskScore(Map<String, Double> metrics, double score) {

    public TaskScore {
        metrics = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    /**
     * The GLUE average: each task's score (MNLI's matched and mismatched averaged, as its two
     * metrics), then the mean over tasks.
     */
    public static double glueAverage(Map<GlueTask, ? extends Collection<TaskScore>> byTask) {
        double sum = 0;
        for (Collection<TaskScore> scores : byTask.values()) {
            sum += scores.stream().mapToDouble(TaskScore::score).average().orElse(0);
        }
        return byTask.isEmpty() ? 0 : sum / byTask.size();
    }

    /** One line such as {@code f1=88.61 accuracy=84.07 score=86.34}, in percent. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        metrics.forEach((k, v) -> sb.append(k).append('=').append(String.format("%.2f", 100 * v)).append(' '));
        return sb.append("score=").append(String.format("%.2f", 100 * score)).toString();
    }
}
