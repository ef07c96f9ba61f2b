package org.distill4j.spark;

import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.Sha256;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.glue.Split;
import org.distill4j.train.Examples;
import org.distill4j.train.Provenance;
import org.distill4j.train.TeacherCache;
import org.distill4j.weights.Checkpoint;

/**
 * The teacher's outputs for every example of an input (a GLUE split, or an augmented TSV in the
 * task's layout) as Parquet shards: per example its position in the input, its token count, and
 * as asked its task logits, its [CLS] vectors (embeddings and every layer) and the token states of
 * chosen layers. The teacher runs in the batches the trainer's own teacher pass forms
 * ({@link TeacherCache#batches}), so the numbers are the ones the trainer would compute.
 *
 * <p>The schema's metadata (on the {@code index} column, kept in every shard's footer) records
 * what decides the numbers: the teacher's name and tensor hash (as a recipe's provenance computes
 * it), the tokenizer's hash, the length, the input file's hash and the outputs kept. Spark writes
 * {@code _SUCCESS} when every shard is complete.
 */
public final class TeacherOutputsJob {

    /** Bumped when the columns or their meaning change. */
    static final int FORMAT = 1;

    /** What to compute. */
    /**
     * @param input a TSV in the task's training layout, or null for the task's training split
     * @param limit the first this many examples (0: all)
     */
    public record Spec(String teacher, GlueTask task, Path glueDir, Path input, int maxLength, boolean logits,
            boolean cls, int[] layers, int limit) {}

    /** What was written. */
    public record Result(Path dir, int examples, int batches, int partitions, double seconds, ObjectNode metadata) {}

    /** One batch as executors receive it: the examples' positions in the input and their texts. */
    record Batch(int[] positions, List<String> first, List<String> second) implements Serializable {}

    private TeacherOutputsJob() {}

    /** Runs the teacher over {@code spec}'s input on {@code partitions} partitions (0: one per core) into {@code out}. */
    public static Result run(JavaSparkContext sc, Spec spec, Path out, int partitions) {
        long t0 = System.nanoTime();
        // The input in the training split's layout: the split itself, or an augmented set of it.
        Split train = spec.task().train();
        Dataset data = spec.input() == null ? GlueReader.read(spec.glueDir(), spec.task(), train, false)
                : GlueReader.read(spec.glueDir(), spec.task(), new Split("input", spec.input().toAbsolutePath()
                        .normalize().toString(), train.layout(), null), false);
        Examples examples = GlueTraining.examples(data, spec.limit());
        Checkpoint teacher = ExecutorModels.checkpoint(spec.teacher());
        if (spec.logits() && teacher.weights().heads().taskOutputs() != spec.task().outputs()) {
            throw new DistillException("teacher " + spec.teacher() + " has " + teacher.weights().heads().taskOutputs()
                    + " task outputs but " + spec.task() + " needs " + spec.task().outputs()
                    + "; without a task head ask for --cls or --layers only");
        }
        int states = teacher.config().numHiddenLayers() + 1;
        for (int l : spec.layers()) {
            if (l < 0 || l >= states) {
                throw new DistillException("--layers " + l + ": " + spec.teacher() + " has layers 0 (embeddings) to "
                        + (states - 1));
            }
        }
        List<Batch> batches = new ArrayList<>();
        for (int[] idx : TeacherCache.batches(examples.lengths())) {
            List<String> a = new ArrayList<>();
            List<String> b = examples.second() == null ? null : new ArrayList<>();
            for (int i : idx) {
                a.add(examples.first().get(i));
                if (b != null) {
                    b.add(examples.second().get(i));
                }
            }
            batches.add(new Batch(idx, a, b));
        }
        ObjectNode meta = metadata(spec, data, teacher);
        StructType schema = schema(meta);
        int slices = Math.max(1, Math.min(batches.size(), partitions > 0 ? partitions : sc.defaultParallelism()));
        String name = spec.teacher();
        int length = spec.maxLength();
        boolean logits = spec.logits();
        boolean cls = spec.cls();
        int[] layers = spec.layers().clone();
        JavaRDD<Row> rows = sc.parallelize(batches, slices).mapPartitions(it -> PartitionWork.map(it,
                () -> PartitionWork.Model.open(name, length), (PartitionWork.Model m, Batch batch) -> {
                    float[] none = new float[batch.first().size()];
                    var tb = new Examples(batch.first(), batch.second(), none).batch(m.tokenizer(), range(none.length));
                    TeacherCache.BatchOutputs o = TeacherCache.forward(m.bert(), new ParameterStore(m.manager(), false),
                            tb, logits, cls, layers, m.manager());
                    List<Row> out2 = new ArrayList<>(none.length);
                    for (int j = 0; j < none.length; j++) {
                        out2.add(RowFactory.create(batch.positions()[j], tb.length(j),
                                o.logits() == null ? null : o.logits()[j], o.cls() == null ? null : o.cls()[j],
                                o.tokenStates() == null ? null : o.tokenStates()[j]));
                    }
                    return out2;
                }));
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        spark.createDataFrame(rows, schema).write().mode(SaveMode.Overwrite).parquet(out.toUri().toString());
        return new Result(out, examples.size(), batches.size(), slices, (System.nanoTime() - t0) / 1e9, meta);
    }

    /** What decides the numbers, kept in the shards' schema. */
    static ObjectNode metadata(Spec spec, Dataset data, Checkpoint teacher) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("format", "distill4j teacher outputs v" + FORMAT);
        n.put("teacher", spec.teacher());
        n.put("teacher_hash", Provenance.sha256(teacher.weights()));
        n.put("tokenizer_hash", Sha256.hex(Sha256.digest().digest(teacher.tokenizerJson())));
        n.put("max_length", spec.maxLength());
        n.put("task", spec.task().dirName());
        n.put("input", data.file().toString());
        n.put("input_hash", Provenance.sha256(data.file()));
        n.put("examples", spec.limit() > 0 ? Math.min(spec.limit(), data.size()) : data.size());
        n.put("batch", TeacherCache.BATCH);
        n.put("logits", spec.logits() ? teacher.weights().heads().taskOutputs() : 0);
        n.put("cls_states", spec.cls() ? teacher.config().numHiddenLayers() + 1 : 0);
        n.put("hidden", teacher.config().hiddenSize());
        n.putPOJO("layers", Arrays.stream(spec.layers()).boxed().toList());
        return n;
    }

    /** index, tokens, logits, cls, hidden: the last three float arrays, null where not kept. */
    static StructType schema(ObjectNode meta) {
        Metadata m = new org.apache.spark.sql.types.MetadataBuilder().putString("distill4j", meta.toString()).build();
        return new StructType(new StructField[] {
            new StructField("index", DataTypes.IntegerType, false, m),
            new StructField("tokens", DataTypes.IntegerType, false, Metadata.empty()),
            new StructField("logits", DataTypes.createArrayType(DataTypes.FloatType, false), true, Metadata.empty()),
            new StructField("cls", DataTypes.createArrayType(DataTypes.FloatType, false), true, Metadata.empty()),
            new StructField("hidden", DataTypes.createArrayType(DataTypes.FloatType, false), true, Metadata.empty()),
        });
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        Arrays.setAll(r, i -> i);
        return r;
    }
}
