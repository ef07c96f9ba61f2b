package org.distill4j.spark;

import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.distill4j.glue.FineTuneConfig;
import org.distill4j.glue.FineTuner;
import org.distill4j.glue.GlueTask;

/** What the Spark tests share: a local Spark context and a small real teacher with a task head. */
final class LocalSpark {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    private LocalSpark() {}

    /** A Spark context on {@code master} (e.g. local[2], or local[2,2] for a second try of a failed task), no UI. */
    static JavaSparkContext start(String master, String name) {
        return new JavaSparkContext(new SparkConf().setMaster(master).setAppName(name).set("spark.ui.enabled", "false"));
    }

    /**
     * all-MiniLM-L6-v2 fine-tuned for one epoch on the first {@code limit} training examples of
     * {@code task} (seed 13, lr 1e-4) into {@code run}; its best/ directory.
     */
    static Path miniLmTeacher(Path run, GlueTask task, int batchSize, int maxLength, int limit) {
        new FineTuner(new FineTuneConfig("builtin:all-minilm-l6-v2", task, 1, 1e-4f, batchSize, maxLength, 13, run, GLUE,
                false, limit, 0)).run(false);
        return run.resolve("best");
    }
}
