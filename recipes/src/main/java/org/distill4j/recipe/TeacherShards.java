package org.distill4j.recipe;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.train.TeacherCache;

/**
 * Reads the teacher's outputs from the Parquet shards {@code ./distill spark teacher-outputs}
 * writes ({@code teacher.outputs} in a recipe), in place of the trainer's own teacher pass. The
 * shards are read row group by row group and only the columns and layers the stage's terms need
 * are kept. Refused, with the reason: a directory without Spark's {@code _SUCCESS} marker (an
 * unfinished job), shards of another teacher (by the hash of its tensors), another input file,
 * another length or tokenizer, or shards that lack what the stage needs or miss examples.
 */
final class TeacherShards {

    /** The key under which Spark keeps its schema, with each column's metadata, in a Parquet footer. */
    private static final String SPARK_SCHEMA = "org.apache.spark.sql.parquet.row.metadata";

    private TeacherShards() {}

    /**
     * The outputs kept in {@code dir} for a stage.
     *
     * @param teacherHash the recipe's teacher, as {@code provenance.json}'s {@code teacher_hash}
     * @param inputHashes the SHA-256 of every data file the recipe reads; the shards' input must be one
     * @param tokenizerHash SHA-256 of the teacher's tokenizer.json
     */
    static TeacherCache read(Path dir, String teacherHash, Collection<String> inputHashes, String tokenizerHash,
            int maxLength, boolean logits, boolean cls, int[] layers, int examples) {
        if (!Files.isRegularFile(dir.resolve("_SUCCESS"))) {
            throw new DistillException("teacher.outputs: " + dir + " has no _SUCCESS marker: the job that writes it "
                    + "(./distill spark teacher-outputs) did not finish, or it is not such a directory");
        }
        List<Path> shards;
        try (Stream<Path> l = Files.list(dir)) {
            shards = l.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().toList();
        } catch (IOException e) {
            throw new DistillException("teacher.outputs: cannot list " + dir + ": " + e.getMessage(), e);
        }
        if (shards.isEmpty()) {
            throw new DistillException("teacher.outputs: " + dir + " holds no .parquet shards");
        }
        Configuration conf = new Configuration(false);
        float[][] logitRows = null;
        float[][] clsRows = null;
        float[][] stateRows = layers.length > 0 ? new float[examples][] : null;
        int[] tokens = new int[examples];
        boolean[] seen = new boolean[examples];
        int filled = 0;
        JsonNode meta = null;
        int[] kept = null;
        int hidden = 0;
        for (Path shard : shards) {
            try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(
                    new org.apache.hadoop.fs.Path(shard.toUri()), conf))) {
                JsonNode m = metadata(shard, r);
                if (meta == null) {
                    meta = m;
                    check(dir, meta, teacherHash, inputHashes, tokenizerHash, maxLength, logits, cls, layers, examples);
                    kept = ints(meta.path("layers"));
                    hidden = meta.path("hidden").asInt();
                    logitRows = logits ? new float[examples][] : null;
                    clsRows = cls ? new float[examples][] : null;
                } else if (!meta.equals(m)) {
                    throw new DistillException("teacher.outputs: " + shard + " was written by another job than the "
                            + "other shards of " + dir);
                }
                MessageType schema = r.getFooter().getFileMetaData().getSchema();
                MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
                for (PageReadStore pages; (pages = r.readNextRowGroup()) != null; ) {
                    RecordReader<Group> rows = io.getRecordReader(pages, new GroupRecordConverter(schema));
                    for (long i = 0; i < pages.getRowCount(); i++) {
                        Group g = rows.read();
                        int index = g.getInteger("index", 0);
                        if (index < 0 || index >= examples || seen[index]) {
                            throw new DistillException("teacher.outputs: " + shard + " holds example " + index
                                    + (index < 0 || index >= examples ? ", outside the " + examples + " the stage has"
                                    : " twice"));
                        }
                        seen[index] = true;
                        filled++;
                        int t = g.getInteger("tokens", 0);
                        tokens[index] = t;
                        if (logitRows != null) {
                            logitRows[index] = floats(g, "logits");
                        }
                        if (clsRows != null) {
                            clsRows[index] = floats(g, "cls");
                        }
                        if (stateRows != null) {
                            stateRows[index] = layersOf(floats(g, "hidden"), kept, layers, t * hidden);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (e instanceof DistillException d) {
                    throw d;
                }
                throw new DistillException("teacher.outputs: cannot read " + shard + ": " + e.getMessage(), e);
            }
        }
        if (filled != examples) {
            throw new DistillException("teacher.outputs: " + dir + " holds " + filled + " of the " + examples
                    + " examples the stage trains on");
        }
        return TeacherCache.of(meta.path("logits").asInt(), meta.path("cls_states").asInt(), hidden, layers, tokens,
                logitRows, clsRows, stateRows);
    }

    /** The job's record of what decides the numbers, from the shard's Spark schema. */
    private static JsonNode metadata(Path shard, ParquetFileReader r) throws IOException {
        String spark = r.getFooter().getFileMetaData().getKeyValueMetaData().get(SPARK_SCHEMA);
        if (spark != null) {
            for (JsonNode f : Json.MAPPER.readTree(spark).path("fields")) {
                if (f.path("name").asText().equals("index") && f.path("metadata").has("distill4j")) {
                    return Json.MAPPER.readTree(f.path("metadata").path("distill4j").asText());
                }
            }
        }
        throw new DistillException("teacher.outputs: " + shard + " is not a shard of ./distill spark teacher-outputs "
                + "(no distill4j metadata in its schema)");
    }

    private static void check(Path dir, JsonNode meta, String teacherHash, Collection<String> inputHashes,
            String tokenizerHash, int maxLength, boolean logits, boolean cls, int[] layers, int examples) {
        String where = "teacher.outputs: " + dir + " ";
        if (!meta.path("teacher_hash").asText().equals(teacherHash)) {
            throw new DistillException(where + "holds the outputs of teacher " + meta.path("teacher").asText()
                    + " (tensor hash " + abbrev(meta.path("teacher_hash").asText()) + "), not of this recipe's teacher ("
                    + abbrev(teacherHash) + "); run ./distill spark teacher-outputs with this teacher");
        }
        if (!inputHashes.contains(meta.path("input_hash").asText())) {
            throw new DistillException(where + "was computed on " + meta.path("input").asText()
                    + ", which is not (or no longer) a data file of this recipe");
        }
        if (!meta.path("tokenizer_hash").asText().equals(tokenizerHash) || meta.path("max_length").asInt() != maxLength) {
            throw new DistillException(where + "was tokenized with max_length " + meta.path("max_length").asInt()
                    + (meta.path("tokenizer_hash").asText().equals(tokenizerHash) ? "" : " and another tokenizer")
                    + "; this recipe uses data.max_length " + maxLength);
        }
        if (meta.path("examples").asInt() != examples) {
            throw new DistillException(where + "holds " + meta.path("examples").asInt() + " examples but the stage "
                    + "trains on " + examples + " (data.train_limit?)");
        }
        int[] kept = ints(meta.path("layers"));
        for (int l : layers) {
            if (Arrays.stream(kept).noneMatch(k -> k == l)) {
                throw new DistillException(where + "keeps the token states of layers " + Arrays.toString(kept)
                        + " but the recipe's terms need layer " + l + " (--layers of teacher-outputs)");
            }
        }
        if ((logits && meta.path("logits").asInt() == 0) || (cls && meta.path("cls_states").asInt() == 0)) {
            throw new DistillException(where + "lacks the " + (logits && meta.path("logits").asInt() == 0 ? "logits"
                    : "[CLS] states (--cls)") + " the recipe's terms need");
        }
    }

    /** The token states of {@code wanted} out of a row that keeps {@code kept}, each {@code size} floats. */
    private static float[] layersOf(float[] row, int[] kept, int[] wanted, int size) {
        if (row.length != kept.length * size) {
            throw new DistillException("teacher.outputs: a row's token states have " + row.length + " values, not "
                    + kept.length + " layers of " + size);
        }
        if (Arrays.equals(kept, wanted)) {
            return row;
        }
        float[] out = new float[wanted.length * size];
        for (int k = 0; k < wanted.length; k++) {
            int w = wanted[k];
            int from = java.util.stream.IntStream.range(0, kept.length).filter(i -> kept[i] == w).findFirst()
                    .orElseThrow();
            System.arraycopy(row, from * size, out, k * size, size);
        }
        return out;
    }

    /** A list column of floats (Parquet's three-level LIST: list.element). */
    private static float[] floats(Group row, String column) {
        if (row.getFieldRepetitionCount(column) == 0) {
            throw new DistillException("teacher.outputs: column " + column + " is empty in a row");
        }
        Group list = row.getGroup(column, 0);
        int n = list.getFieldRepetitionCount("list");
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = list.getGroup("list", i).getFloat("element", 0);
        }
        return out;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static String abbrev(String hash) {
        return hash.length() > 12 ? hash.substring(0, 12) : hash;
    }
}
