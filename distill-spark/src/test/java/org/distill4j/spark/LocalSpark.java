package org.distill4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
     * A Spark cluster of {@code executors} executor JVMs of one core and {@code memoryMb} of heap
     * each, started by a master and workers inside this JVM (Spark's local-cluster mode), so that
     * an executor can die while the driver lives. The executors run this JVM's class path (Spark's
     * testing mode passes it on) with the module openings of jvm.options; their work directories go
     * under {@code home}.
     */
    static JavaSparkContext cluster(int executors, int memoryMb, String name, Path home) {
        Path options = Path.of(System.getProperty("project.root", ".."), "distill-spark", "jvm.options");
        String javaOptions;
        try {
            javaOptions = String.join(" ", Files.readAllLines(options)) + " -Dai.djl.offline=true";
            Files.createDirectories(home);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Workers look for Spark's jars under a Spark home unless testing; in testing mode they
        // take the driver's class path instead, which is what a Maven build has.
        System.setProperty("spark.testing", "true");
        System.setProperty("spark.test.home", home.toString());
        SparkConf conf = new SparkConf().setMaster("local-cluster[" + executors + ",1," + memoryMb + "]")
                .setAppName(name).set("spark.ui.enabled", "false")
                .set("spark.executorEnv.SPARK_TESTING", "1").set("spark.executorEnv.SPARK_SCALA_VERSION", "2.12")
                .set("spark.executor.extraJavaOptions", javaOptions);
        try {
            return new JavaSparkContext(conf) {
                @Override
                public void close() {
                    try {
                        super.close();
                    } finally {
                        leaveTestingMode();
                    }
                }
            };
        } catch (RuntimeException e) {
            leaveTestingMode();
            throw e;
        }
    }

    /** Spark's testing mode is the local cluster's alone: the other tests run Spark as users do. */
    private static void leaveTestingMode() {
        System.clearProperty("spark.testing");
        System.clearProperty("spark.test.home");
    }

    /** The process of the local cluster's executor {@code id}, a child of this JVM's workers (Linux). */
    static Optional<ProcessHandle> executorProcess(String id) {
        return ProcessHandle.current().descendants().filter(p -> {
            List<String> args;
            try {
                // /proc holds the whole command line; ProcessHandle.Info may cut a long class path.
                args = List.of(new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                        StandardCharsets.UTF_8).split("\0"));
            } catch (IOException e) {
                return false; // ended meanwhile
            }
            int at = args.indexOf("--executor-id");
            return args.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend") && at >= 0
                    && at + 1 < args.size() && args.get(at + 1).equals(id);
        }).findFirst();
    }

    /**
     * all-MiniLM-L6-v2 fine-tuned for one epoch on the first {@code limit} training examples of
     * {@code task} (seed 13, lr 1e-4) into {@code run}; its best/ directory. One epoch keeps its one
     * checkpoint whatever it scores, so its evaluation reads only 64 dev rows.
     */
    static Path miniLmTeacher(Path run, GlueTask task, int batchSize, int maxLength, int limit) {
        Path glue = org.distill4j.GlueSample.slice(run.resolveSibling(run.getFileName() + "-glue"), task.dirName(),
                limit, 64);
        new FineTuner(new FineTuneConfig("builtin:all-minilm-l6-v2", task, 1, 1e-4f, batchSize, maxLength, 13, run, glue,
                false, limit, 0)).run(false);
        return run.resolve("best");
    }
}
