package org.distill4j.glue;

import java.util.List;
import java.util.Locale;

/**
 * The nine GLUE tasks: their files, columns, label sets and official metrics (Wang et al. 2019,
 * table 1). Labels are indexed in the order listed here, which is HuggingFace's order, so a
 * classifier trained here reads the same as one trained with {@code run_glue.py}.
 */
public enum GlueTask {
    COLA("CoLA", List.of("0", "1"), GlueMetric.MATTHEWS,
            split("train", "CoLA/train.tsv", new Layout(false, 4, -1, 3, -1, 1)),
            split("dev", "CoLA/dev.tsv", new Layout(false, 4, -1, 3, -1, 1)),
            test("test", "CoLA/test.tsv", new Layout(true, 2, 0, 1, -1, -1), "CoLA.tsv")),
    SST2("SST-2", List.of("0", "1"), GlueMetric.ACCURACY,
            split("train", "SST-2/train.tsv", new Layout(true, 2, -1, 0, -1, 1)),
            split("dev", "SST-2/dev.tsv", new Layout(true, 2, -1, 0, -1, 1)),
            test("test", "SST-2/test.tsv", new Layout(true, 2, 0, 1, -1, -1), "SST-2.tsv")),
    MRPC("MRPC", List.of("0", "1"), GlueMetric.F1_ACCURACY,
            split("train", "MRPC/train.tsv", new Layout(true, 5, -1, 3, 4, 0)),
            split("dev", "MRPC/dev.tsv", new Layout(true, 5, -1, 3, 4, 0)),
            test("test", "MRPC/test.tsv", new Layout(true, 5, 0, 3, 4, -1), "MRPC.tsv")),
    STSB("STS-B", null, GlueMetric.PEARSON_SPEARMAN,
            split("train", "STS-B/train.tsv", new Layout(true, 10, -1, 7, 8, 9)),
            split("dev", "STS-B/dev.tsv", new Layout(true, 10, -1, 7, 8, 9)),
            test("test", "STS-B/test.tsv", new Layout(true, 9, 0, 7, 8, -1), "STS-B.tsv")),
    QQP("QQP", List.of("0", "1"), GlueMetric.F1_ACCURACY,
            split("train", "QQP/train.tsv", new Layout(true, 6, -1, 3, 4, 5)),
            split("dev", "QQP/dev.tsv", new Layout(true, 6, -1, 3, 4, 5)),
            test("test", "QQP/test.tsv", new Layout(true, 3, 0, 1, 2, -1), "QQP.tsv")),
    MNLI("MNLI", List.of("contradiction", "entailment", "neutral"), GlueMetric.ACCURACY,
            split("train", "MNLI/train.tsv", new Layout(true, 12, -1, 8, 9, 11)),
            split("dev_matched", "MNLI/dev_matched.tsv", new Layout(true, 16, -1, 8, 9, 15)),
            split("dev_mismatched", "MNLI/dev_mismatched.tsv", new Layout(true, 16, -1, 8, 9, 15)),
            test("test_matched", "MNLI/test_matched.tsv", new Layout(true, 10, 0, 8, 9, -1), "MNLI-m.tsv"),
            test("test_mismatched", "MNLI/test_mismatched.tsv", new Layout(true, 10, 0, 8, 9, -1), "MNLI-mm.tsv"),
            test("ax", "diagnostic/diagnostic.tsv", new Layout(true, 3, 0, 1, 2, -1), "AX.tsv")),
    QNLI("QNLI", List.of("entailment", "not_entailment"), GlueMetric.ACCURACY,
            split("train", "QNLI/train.tsv", new Layout(true, 4, -1, 1, 2, 3)),
            split("dev", "QNLI/dev.tsv", new Layout(true, 4, -1, 1, 2, 3)),
            test("test", "QNLI/test.tsv", new Layout(true, 3, 0, 1, 2, -1), "QNLI.tsv")),
    RTE("RTE", List.of("entailment", "not_entailment"), GlueMetric.ACCURACY,
            split("train", "RTE/train.tsv", new Layout(true, 4, -1, 1, 2, 3)),
            split("dev", "RTE/dev.tsv", new Layout(true, 4, -1, 1, 2, 3)),
            test("test", "RTE/test.tsv", new Layout(true, 3, 0, 1, 2, -1), "RTE.tsv")),
    WNLI("WNLI", List.of("0", "1"), GlueMetric.ACCURACY,
            split("train", "WNLI/train.tsv", new Layout(true, 4, -1, 1, 2, 3)),
            split("dev", "WNLI/dev.tsv", new Layout(true, 4, -1, 1, 2, 3)),
            test("test", "WNLI/test.tsv", new Layout(true, 3, 0, 1, 2, -1), "WNLI.tsv"));

    private final String dirName;
    private final List<String> labels;
    private final GlueMetric metric;
    private final List<Split> splits;

    GlueTask(String dirName, List<String> labels, GlueMetric metric, Split... splits) {
        this.dirName = dirName;
        this.labels = labels;
        this.metric = metric;
        this.splits = List.of(splits);
    }

    private static Split split(String name, String file, Layout layout) {
        return new Split(name, file, layout, null);
    }

    private static Split test(String name, String file, Layout layout, String submission) {
        return new Split(name, file, layout, submission);
    }

    /** The task's directory name in the GLUE layout, which is also its display name (e.g. SST-2). */
    public String dirName() {
        return dirName;
    }

    /** Class names in index order, or null for the regression task STS-B. */
    public List<String> labels() {
        return labels;
    }

    public boolean isRegression() {
        return labels == null;
    }

    /** Outputs of the task head: the number of classes, or 1 for regression. */
    public int outputs() {
        return isRegression() ? 1 : labels.size();
    }

    public GlueMetric metric() {
        return metric;
    }

    public List<Split> splits() {
        return splits;
    }

    public Split train() {
        return split("train");
    }

    /**
     * The splits a name selects: an exact split name, or {@code dev} / {@code test} for every dev or
     * test split of the task (MNLI has two of each, plus the AX diagnostic among its tests).
     */
    public List<Split> select(String name) {
        List<Split> exact = splits.stream().filter(s -> s.name().equals(name)).toList();
        if (!exact.isEmpty()) {
            return exact;
        }
        List<Split> group = splits.stream().filter(s -> s.name().startsWith(name + "_")
                || (name.equals("test") && s.name().equals("ax"))).toList();
        if (group.isEmpty()) {
            throw new IllegalArgumentException(dirName + " has no split '" + name + "'; its splits are "
                    + splits.stream().map(Split::name).toList());
        }
        return group;
    }

    public Split split(String name) {
        List<Split> s = select(name);
        if (s.size() != 1) {
            throw new IllegalArgumentException(dirName + " split '" + name + "' is ambiguous: "
                    + s.stream().map(Split::name).toList());
        }
        return s.get(0);
    }

    /** The label index of a raw label string, or -1 if it is not one of the task's labels. */
    public int labelIndex(String raw) {
        return labels.indexOf(raw);
    }

    /**
     * Finds a task by any common spelling: {@code SST-2}, {@code sst2}, {@code STS-B}, {@code stsb},
     * {@code CoLA}, {@code mnli}.
     */
    public static GlueTask parse(String name) {
        String key = name.toUpperCase(Locale.ROOT).replace("-", "").replace("_", "");
        for (GlueTask t : values()) {
            if (t.name().equals(key)) {
                return t;
            }
        }
        throw new IllegalArgumentException("Unknown GLUE task '" + name + "'; tasks are CoLA, SST-2, MRPC, STS-B, "
                + "QQP, MNLI, QNLI, RTE, WNLI");
    }

    @Override
    public String toString() {
        return dirName;
    }
}
