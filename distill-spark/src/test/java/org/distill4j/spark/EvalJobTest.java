package org.distill4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.GlueEvaluator;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.TaskScore;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark evaluation of a real STS-B model against the single-machine evaluation: in local mode, and
 * on a local cluster of executor JVMs one of which is killed while it works.
 */
class EvalJobTest {

    /** STS-B with its first 400 dev pairs: each test scores them once more on Spark. */
    static Path glue;

    @TempDir
    static Path tmp;

    static Path model;
    static Dataset dev;
    static TaskScore expected;
    static Path local;

    @BeforeAll
    static void singleMachineEvaluation() throws Exception {
        // A regression task: its Pearson and Spearman, written to full precision, move with any
        // prediction's last bit, so equal metrics mean equal predictions.
        model = LocalSpark.miniLmTeacher(tmp.resolve("stsb"), GlueTask.STSB, 16, 64, 160);
        glue = org.distill4j.GlueSample.slice(tmp.resolve("glue"), "STS-B", 1, 400);
        local = tmp.resolve("local");
        dev = GlueReader.read(glue, GlueTask.STSB, GlueTask.STSB.select("dev").get(0), false);
        Checkpoint ckpt = Checkpoint.load(model.toString());
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = ckpt.toModel(m);
                BertTokenizer tok = ckpt.tokenizer(64)) {
            double[] pred = GlueEvaluator.predict(bert, tok, dev, 64);
            expected = GlueEvaluator.score(dev, pred);
            GlueEvaluator.writeEvaluation(local, dev, pred, expected, model.toString());
        }
        // Ten updates leave the head far from trained, but the predictions must spread, or equal
        // files would prove little.
        long distinct = Files.readAllLines(local.resolve("predictions.tsv")).stream().skip(1)
                .map(l -> l.split("\t")[1]).distinct().count();
        assertTrue(distinct > 100, distinct + " distinct predictions of " + dev.size());
    }

    @Test
    void sparkEvalWritesTheSingleMachineFiles() throws Exception {
        Path spark = tmp.resolve("spark");
        List<EvalJob.Result> results;
        try (JavaSparkContext sc = LocalSpark.start("local[2]", "EvalJobTest")) {
            results = EvalJob.run(sc, model, GlueTask.STSB, "dev", glue, false, 64, 64, 3, spark);
        }
        assertSameAsSingleMachine(results, spark);
    }

    @Test
    void anExecutorKilledMidJobChangesNoFile() throws Exception {
        Path spark = tmp.resolve("cluster");
        List<EvalJob.Result> results;
        ExecutorKiller killer;
        try (JavaSparkContext sc = LocalSpark.cluster(2, 1536, "EvalJobTest", tmp.resolve("spark-home"))) {
            killer = ExecutorKiller.on(sc);
            results = EvalJob.run(sc, model, GlueTask.STSB, "dev", glue, false, 64, 64, 4, spark);
        }
        killer.assertKilledMidTask();
        assertSameAsSingleMachine(results, spark);
    }

    private static void assertSameAsSingleMachine(List<EvalJob.Result> results, Path spark) throws Exception {
        assertEquals(1, results.size());
        assertEquals(dev.size(), results.get(0).examples());
        assertEquals(expected.score(), results.get(0).score().score(), 0.0, "Spark's score differs");
        assertArrayEquals(Files.readAllBytes(local.resolve("metrics.json")),
                Files.readAllBytes(spark.resolve("metrics.json")));
        assertArrayEquals(Files.readAllBytes(local.resolve("predictions.tsv")),
                Files.readAllBytes(spark.resolve("predictions.tsv")));
    }
}
