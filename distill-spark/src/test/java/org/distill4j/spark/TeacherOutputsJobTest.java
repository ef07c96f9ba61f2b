package org.distill4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Examples;
import org.distill4j.train.Provenance;
import org.distill4j.train.TeacherCache;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Teacher outputs on Spark for real MRPC rows, against the trainer's own teacher pass: in local mode,
 * and on a local cluster whose executor is killed mid-job.
 */
class TeacherOutputsJobTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    @Test
    void shardsHoldTheTrainersNumbersAndTheTeachersHash() throws Exception {
        Path out = tmp.resolve("outputs");
        try (JavaSparkContext sc = LocalSpark.start("local[2]", "TeacherOutputsJobTest")) {
            runAndCheck(sc, out);
        }
    }

    @Test
    void anExecutorKilledWhileWritingShardsLosesNoRow() throws Exception {
        // The killed executor's task attempt leaves no shard behind: the committer writes a
        // partition's shard only when an attempt completes, and the retried attempt writes it whole.
        Path out = tmp.resolve("cluster");
        ExecutorKiller killer;
        try (JavaSparkContext sc = LocalSpark.cluster(2, 1536, "TeacherOutputsJobTest", tmp.resolve("spark-home"))) {
            killer = ExecutorKiller.on(sc);
            runAndCheck(sc, out);
        }
        killer.assertKilledMidTask();
    }

    /**
     * Runs the job on 150 MRPC examples of a one-update MiniLM teacher over two partitions into
     * {@code out}, and checks every row and the metadata against the trainer's own teacher pass.
     */
    private void runAndCheck(JavaSparkContext sc, Path out) throws Exception {
        // A teacher with a task head: one update of MiniLM on MRPC is enough to have one.
        String teacher = LocalSpark.miniLmTeacher(tmp.resolve("teacher"), GlueTask.MRPC, 16, 64, 16).toString();
        int[] layers = {3, 6};
        // 150 examples: batches of 64, 64 and 22 over two partitions.
        TeacherOutputsJob.Spec spec = new TeacherOutputsJob.Spec(teacher, GlueTask.MRPC, GLUE, null, 64, true, true,
                layers, 150);
        TeacherOutputsJob.Result r = TeacherOutputsJob.run(sc, spec, out, 2);
        assertEquals(150, r.examples());
        assertEquals(3, r.batches());
        var df = SparkSession.builder().sparkContext(sc.sc()).getOrCreate().read().parquet(out.toUri().toString());
        List<Row> rows = df.orderBy("index").collectAsList();
        JsonNode meta = Json.MAPPER.readTree(df.schema().apply("index").metadata().getString("distill4j"));
        assertTrue(Files.isRegularFile(out.resolve("_SUCCESS")));
        Checkpoint ckpt = Checkpoint.load(teacher);
        assertEquals(Provenance.sha256(ckpt.weights()), meta.path("teacher_hash").asText(), meta.toString());
        assertEquals(Provenance.sha256(GLUE.resolve("MRPC/train.tsv")), meta.path("input_hash").asText());
        assertEquals(7, meta.path("cls_states").asInt());

        // The trainer's teacher pass on the same examples.
        Examples ex = GlueTraining.examples(GlueReader.read(GLUE, GlueTask.MRPC, GlueTask.MRPC.train(), false), 150);
        float[][] logits = new float[150][];
        float[][] cls = new float[150][];
        float[][] hidden = new float[150][];
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = ckpt.toModel(m);
                BertTokenizer tok = ckpt.tokenizer(64)) {
            for (int[] idx : TeacherCache.batches(ex.lengths())) {
                TeacherCache.BatchOutputs o = TeacherCache.forward(bert, new ParameterStore(m, false),
                        ex.batch(tok, idx), true, true, layers, m);
                for (int j = 0; j < idx.length; j++) {
                    logits[idx[j]] = o.logits()[j];
                    cls[idx[j]] = o.cls()[j];
                    hidden[idx[j]] = o.tokenStates()[j];
                }
            }
        }
        assertEquals(150, rows.size());
        for (int i = 0; i < 150; i++) {
            Row row = rows.get(i);
            assertEquals(i, row.getInt(0));
            assertArrayEquals(logits[i], floats(row.getList(2)), "logits of example " + i);
            assertArrayEquals(cls[i], floats(row.getList(3)), "[CLS] states of example " + i);
            assertArrayEquals(hidden[i], floats(row.getList(4)), "token states of example " + i);
            assertEquals(hidden[i].length, 2 * row.getInt(1) * 384);
        }
    }

    @Test
    void logitsFromATeacherWithoutATaskHeadAreRefused() {
        TeacherOutputsJob.Spec spec = new TeacherOutputsJob.Spec("builtin:all-minilm-l6-v2", GlueTask.MRPC, GLUE, null,
                64, true, false, new int[0], 10);
        try (JavaSparkContext sc = LocalSpark.start("local[1]", "TeacherOutputsJobTest")) {
            DistillException e = assertThrows(DistillException.class,
                    () -> TeacherOutputsJob.run(sc, spec, tmp.resolve("none"), 1));
            assertTrue(e.getMessage().contains("builtin:all-minilm-l6-v2") && e.getMessage().contains("--cls"),
                    e.getMessage());
        }
        assertTrue(!Files.exists(tmp.resolve("none")));
    }

    private static float[] floats(List<Float> values) {
        assertTrue(values != null);
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
