package org.distill4j.spark;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.Example;
import org.distill4j.glue.GlueEvaluator;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.Split;
import org.distill4j.glue.TaskScore;

/**
 * GLUE evaluation ({@code ./distill eval}) or test predictions ({@code ./distill predict}) on
 * Spark. The driver forms the batches a single-machine run forms ({@link GlueEvaluator#batches}),
 * the executors predict whole batches, and the driver scores and writes the same files. Equal
 * batches give equal numbers, so the files equal the single-machine command's.
 */
public final class EvalJob {

    /** One batch as the executors receive it: the examples' positions in the split, and the examples. */
    record Batch(int[] positions, List<Example> examples) implements Serializable {}

    /** One split's outcome: its score (null for an unlabeled split) and the file or directory written. */
    public record Result(Split split, int examples, TaskScore score, Path written) {}

    private EvalJob() {}

    /**
     * Predicts every example of {@code task}'s {@code split} (as {@link GlueTask#select}) with the
     * model directory {@code model}, over {@code partitions} partitions (0: one per core), and
     * writes {@code metrics.json} and {@code predictions.tsv}, or a test split's submission file,
     * to {@code out}.
     */
    public static List<Result> run(JavaSparkContext sc, Path model, GlueTask task, String split, Path glueDir,
            boolean skipBadRows, int maxLength, int batchSize, int partitions, Path out) {
        String spec = model.toString();
        List<Result> results = new ArrayList<>();
        for (Split s : task.select(split)) {
            Dataset data = GlueReader.read(glueDir, task, s, skipBadRows);
            List<Batch> batches = new ArrayList<>();
            for (List<Integer> idx : GlueEvaluator.batches(data.examples(), batchSize)) {
                batches.add(new Batch(idx.stream().mapToInt(Integer::intValue).toArray(),
                        idx.stream().map(data.examples()::get).toList()));
            }
            int slices = Math.max(1, Math.min(batches.size(), partitions > 0 ? partitions : sc.defaultParallelism()));
            List<double[]> predicted = sc.parallelize(batches, slices).mapPartitions(it -> PartitionWork.map(it,
                    () -> PartitionWork.Model.open(spec, maxLength), (PartitionWork.Model m, Batch b) -> {
                        double[] p = GlueEvaluator.predictBatch(m.bert(), m.tokenizer(), task, b.examples());
                        List<double[]> rows = new ArrayList<>(p.length);
                        for (int j = 0; j < p.length; j++) {
                            rows.add(new double[] {b.positions()[j], p[j]});
                        }
                        return rows;
                    })).collect();
            double[] pred = new double[data.size()];
            for (double[] r : predicted) {
                pred[(int) r[0]] = r[1];
            }
            if (s.layout().labeled()) {
                TaskScore score = GlueEvaluator.score(data, pred);
                GlueEvaluator.writeEvaluation(out, data, pred, score, spec);
                results.add(new Result(s, data.size(), score, out));
            } else {
                results.add(new Result(s, data.size(), null, GlueEvaluator.writeSubmission(out, data, pred)));
            }
        }
        return results;
    }
}
