package org.distill4j.spark;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.distill4j.DistillException;
import org.distill4j.augment.AugmentOptions;
import org.distill4j.augment.Augmentation;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.train.TrainerOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./distill spark JOB ...} and the main class for {@code spark-submit}: the teacher's
 * work as Spark jobs. Each job takes the options of the single-machine command it distributes.
 */
@Command(name = "distill spark", mixinStandardHelpOptions = true,
        description = "The teacher's work on Apache Spark: augment, teacher-outputs and eval.",
        subcommands = {SparkCli.Augment.class, SparkCli.TeacherOutputs.class, SparkCli.Eval.class})
public final class SparkCli {

    /** Options every job has. */
    static final class Cluster {
        @Option(names = "--master", description = "Spark master (default: spark-submit's, else local[*])")
        String master;

        @Option(names = "--partitions", defaultValue = "0",
                description = "partitions of the work (default: Spark's default parallelism)")
        int partitions;

        @Option(names = "--glue-dir", paramLabel = "DIR", description = "GLUE data, readable by every executor "
                + "(default $GLUE_DIR, then ../shared/data/glue)")
        Path glueDir;

        @Option(names = "--skip-bad-rows", description = "skip malformed TSV rows")
        boolean skipBadRows;

        JavaSparkContext start(String job) {
            SparkConf conf = new SparkConf().setAppName("distill4j " + job);
            if (master != null) {
                conf.setMaster(master);
            } else if (!conf.contains("spark.master")) {
                conf.setMaster("local[*]");
            }
            JavaSparkContext sc = new JavaSparkContext(conf);
            sc.setLogLevel("WARN");
            return sc;
        }
    }

    @Command(name = "augment", mixinStandardHelpOptions = true,
            description = "TinyBERT augmentation of a GLUE task's training set or of a text file: the file ./distill "
                    + "augment writes.")
    static final class Augment implements Callable<Integer> {
        @Mixin
        AugmentOptions options;
        @Option(names = "--out", required = true, paramLabel = "FILE", description = "the augmented TSV or text file")
        Path out;
        @Option(names = "--chunk", defaultValue = "" + Augmentation.CHUNK,
                description = "rows per chunk, the unit of work (default ${DEFAULT-VALUE}, as ./distill augment)")
        int chunk;
        @Mixin
        Cluster cluster;

        @Override
        public Integer call() {
            Augmentation.Settings s = options.settings(() -> GlueReader.locate(cluster.glueDir), chunk,
                    cluster.skipBadRows);
            try (JavaSparkContext sc = cluster.start("augment " + s.inputName())) {
                AugmentJob.Result r = AugmentJob.run(sc, s, out, cluster.partitions);
                System.out.printf("%s: %,d rows from %,d %s (%d chunks over %d partitions), %.1f s%n", r.file(),
                        r.rows(), r.examples(), options.corpus() ? "lines" : "training rows", r.chunks(), r.partitions(),
                        r.seconds());
            }
            return 0;
        }
    }

    @Command(name = "teacher-outputs", mixinStandardHelpOptions = true,
            description = "The teacher's logits, [CLS] states and chosen layers' token states for a task's training "
                    + "set or an augmented set of it, as Parquet shards a recipe reads (teacher.outputs).")
    static final class TeacherOutputs implements Callable<Integer> {
        @Option(names = "--teacher", required = true, paramLabel = "MODEL",
                description = "the teacher: a model directory or builtin name, readable by every executor")
        String teacher;
        @Option(names = "--task", required = true, description = "the GLUE task")
        String task;
        @Option(names = "--input", paramLabel = "FILE",
                description = "a TSV in the task's training layout, e.g. ./distill augment's (default: the training set)")
        Path input;
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "the Parquet shards' directory")
        Path out;
        @Option(names = "--max-length", defaultValue = "" + GlueTraining.MAX_LENGTH,
                description = "tokens per example, the recipe's data.max_length (default ${DEFAULT-VALUE})")
        int maxLength;
        @Option(names = "--no-logits", description = "leave out the task head's outputs")
        boolean noLogits;
        @Option(names = "--cls", description = "keep the [CLS] vector of the embeddings and of every layer")
        boolean cls;
        @Option(names = "--layers", split = ",", paramLabel = "L",
                description = "keep the token states after these layers (0: embeddings)")
        int[] layers;
        @Option(names = "--limit", defaultValue = "0", description = "the first N examples only")
        int limit;
        @Mixin
        Cluster cluster;

        @Override
        public Integer call() {
            TeacherOutputsJob.Spec spec = new TeacherOutputsJob.Spec(teacher, GlueTask.parse(task),
                    GlueReader.locate(cluster.glueDir), input, maxLength, !noLogits, cls,
                    layers == null ? new int[0] : layers, limit);
            try (JavaSparkContext sc = cluster.start("teacher-outputs " + task)) {
                TeacherOutputsJob.Result r = TeacherOutputsJob.run(sc, spec, out, cluster.partitions);
                System.out.printf("%s: teacher outputs of %,d examples (%d batches over %d partitions), %.1f s%n",
                        r.dir(), r.examples(), r.batches(), r.partitions(), r.seconds());
            }
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "Scores a fine-tuned model on a GLUE split (test splits: submission files), as ./distill eval.")
    static final class Eval implements Callable<Integer> {
        @Option(names = "--model", required = true, paramLabel = "DIR",
                description = "a fine-tuned model directory, readable by every executor")
        Path model;
        @Option(names = "--task", description = "the task (default: from DIR/distill.json)")
        String task;
        @Option(names = "--split", defaultValue = "dev", description = "split name (default dev)")
        String split;
        @Option(names = "--out", paramLabel = "DIR", description = "where files go (default DIR/eval-SPLIT-spark)")
        Path out;
        @Option(names = "--max-length", description = "tokens per example (default: the model's, distill.json)")
        Integer maxLength;
        @Option(names = "--batch-size", defaultValue = "" + TrainerOptions.EVAL_BATCH_SIZE,
                description = "examples per forward (default ${DEFAULT-VALUE}, as ./distill eval)")
        int batchSize;
        @Mixin
        Cluster cluster;

        @Override
        public Integer call() {
            GlueTask t = GlueTraining.task(model, task);
            Path dir = out != null ? out : model.resolve("eval-" + split + "-spark");
            int length = maxLength != null ? maxLength : GlueTraining.maxLength(model);
            try (JavaSparkContext sc = cluster.start("eval " + t)) {
                for (EvalJob.Result r : EvalJob.run(sc, model, t, split, GlueReader.locate(cluster.glueDir),
                        cluster.skipBadRows, length, batchSize, cluster.partitions, dir)) {
                    System.out.printf("%s %s (%d examples): %s  -> %s%n", t, r.split().name(), r.examples(),
                            r.score() == null ? "predictions" : r.score().summary(), r.written());
                }
            }
            return 0;
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs a command line and returns its exit code: 0 success, 1 a reported error, 2 a usage
     * error. An error an executor raised reaches the driver wrapped in Spark's job failure; its
     * message is reported as the single-machine command would report it.
     */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new SparkCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof DistillException || t instanceof IllegalArgumentException) {
                    cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + t.getMessage());
                    return 1;
                }
            }
            throw e;
        });
        return cli.execute(args);
    }
}
