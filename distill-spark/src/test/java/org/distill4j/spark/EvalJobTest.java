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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spark evaluation in local mode of a real STS-B model, against the single-machine evaluation. */
class EvalJobTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    @Test
    void sparkEvalWritesTheSingleMachineFiles() throws Exception {
        // A regression task: its Pearson and Spearman, written to full precision, move with any
        // prediction's last bit, so equal metrics mean equal predictions.
        Path run = tmp.resolve("stsb");
        Path model = LocalSpark.miniLmTeacher(run, GlueTask.STSB, 16, 64, 160);

        Path local = tmp.resolve("local");
        Dataset dev = GlueReader.read(GLUE, GlueTask.STSB, GlueTask.STSB.select("dev").get(0), false);
        Checkpoint ckpt = Checkpoint.load(model.toString());
        TaskScore expected;
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = ckpt.toModel(m);
                BertTokenizer tok = ckpt.tokenizer(64)) {
            double[] pred = GlueEvaluator.predict(bert, tok, dev, 64);
            expected = GlueEvaluator.score(dev, pred);
            GlueEvaluator.writeEvaluation(local, dev, pred, expected, model.toString());
        }

        Path spark = tmp.resolve("spark");
        List<EvalJob.Result> results;
        try (JavaSparkContext sc = LocalSpark.start("local[2]", "EvalJobTest")) {
            results = EvalJob.run(sc, model, GlueTask.STSB, "dev", GLUE, false, 64, 64, 3, spark);
        }
        assertEquals(1, results.size());
        assertEquals(dev.size(), results.get(0).examples());
        assertEquals(expected.score(), results.get(0).score().score(), 0.0, "Spark's score differs");
        // Ten updates leave the head far from trained, but the predictions must spread, or equal
        // files would prove little.
        long distinct = Files.readAllLines(local.resolve("predictions.tsv")).stream().skip(1)
                .map(l -> l.split("\t")[1]).distinct().count();
        assertTrue(distinct > 100, distinct + " distinct predictions of " + dev.size());
        assertArrayEquals(Files.readAllBytes(local.resolve("metrics.json")),
                Files.readAllBytes(spark.resolve("metrics.json")));
        assertArrayEquals(Files.readAllBytes(local.resolve("predictions.tsv")),
                Files.readAllBytes(spark.resolve("predictions.tsv")));
    }
}
