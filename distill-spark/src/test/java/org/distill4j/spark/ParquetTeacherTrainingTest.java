package org.distill4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.distill4j.DistillException;
import org.distill4j.glue.GlueTask;
import org.distill4j.recipe.RecipeFile;
import org.distill4j.recipe.RecipeRunner;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DistilBERT recipe (soft targets from the teacher's logits, cosine on its last layer's token
 * states) trained on real SST-2 rows with the teacher's outputs read from Spark's Parquet shards,
 * against the same recipe with the trainer's own teacher pass: the same student, bit for bit.
 */
class ParquetTeacherTrainingTest {

    @TempDir
    Path tmp;

    private Path glue;

    @Test
    void aRecipeTrainedFromShardsEqualsTheRecipeWithItsOwnTeacherPass() throws Exception {
        Path teacherRun = tmp.resolve("teacher");
        Path teacher = LocalSpark.miniLmTeacher(teacherRun, GlueTask.SST2, 32, 48, 320);
        // The recipes' 192 training sentences, and 128 dev sentences for their evaluations and reports.
        glue = org.distill4j.GlueSample.slice(tmp.resolve("glue"), "SST-2", 192, 128);

        // Layers 3 and 6 kept: the cosine term reads only layer 6, so the reader must pick it out.
        Path shards = tmp.resolve("shards");
        Path fewer = tmp.resolve("shards-160");
        Path untuned = tmp.resolve("shards-untuned");
        try (JavaSparkContext sc = LocalSpark.start("local[2]", "ParquetTeacherTrainingTest")) {
            TeacherOutputsJob.run(sc, new TeacherOutputsJob.Spec(teacher.toString(), GlueTask.SST2, glue, null, 48,
                    true, false, new int[] {3, 6}, 192), shards, 2);
            TeacherOutputsJob.run(sc, new TeacherOutputsJob.Spec(teacher.toString(), GlueTask.SST2, glue, null, 48,
                    true, false, new int[] {6}, 160), fewer, 1);
            // Another teacher: the base model the teacher was fine-tuned from.
            TeacherOutputsJob.run(sc, new TeacherOutputsJob.Spec("builtin:all-minilm-l6-v2", GlueTask.SST2, glue, null,
                    48, false, false, new int[] {6}, 192), untuned, 1);
        }

        // Separate parents: each run's teacher-cache/ is its own, so B cannot read A's teacher pass.
        Path a = run(tmp.resolve("local/run"), teacher, null);
        Path b = run(tmp.resolve("spark/run"), teacher, shards);
        assertTrue(Files.isDirectory(tmp.resolve("local/teacher-cache")), "run A had no teacher pass of its own");
        assertFalse(Files.exists(tmp.resolve("spark/teacher-cache")), "run B ran the teacher instead of reading shards");

        Map<String, Tensor> wa = tensors(a.resolve("best/model.safetensors"));
        Map<String, Tensor> wb = tensors(b.resolve("best/model.safetensors"));
        assertEquals(wa.keySet(), wb.keySet());
        for (String k : wa.keySet()) {
            assertArrayEquals(wa.get(k).data(), wb.get(k).data(), k + " differs");
        }
        List<String> la = losses(a);
        assertEquals(la, losses(b));
        assertTrue(la.stream().anyMatch(l -> l.contains("\"cosine\"")), la.toString());

        // Shards that do not fit the recipe are refused, naming the directory and what differs.
        DistillException e = assertThrows(DistillException.class, () -> run(tmp.resolve("fewer/run"), teacher, fewer));
        assertTrue(e.getMessage().contains(fewer.toString()) && e.getMessage().contains("160"), e.getMessage());
        e = assertThrows(DistillException.class, () -> run(tmp.resolve("untuned/run"), teacher, untuned));
        assertTrue(e.getMessage().contains(untuned.toString()) && e.getMessage().contains("not of this recipe's teacher"),
                e.getMessage());
        Files.delete(shards.resolve("_SUCCESS"));
        e = assertThrows(DistillException.class, () -> run(tmp.resolve("unfinished/run"), teacher, shards));
        assertTrue(e.getMessage().contains(shards.toString()) && e.getMessage().contains("_SUCCESS"), e.getMessage());
    }

    private Path run(Path out, Path teacher, Path shards) throws Exception {
        String yaml = """
                name: %s
                method: distilbert
                task: SST-2
                seed: 5
                data:
                  max_length: 48
                  train_limit: 192
                  glue_dir: %s
                teacher:
                  model: %s
                %s
                student:
                  layers: [2, 4, 6]
                distill:
                  cosine: 1.0
                train:
                  epochs: 1
                  lr: 3.0e-4
                output:
                  dir: %s
                  speed_examples: 0
                """.formatted(out.getParent().getFileName(), glue.toAbsolutePath(), teacher,
                shards == null ? "" : "  outputs: " + shards, out);
        Path file = out.getParent().resolve("recipe.yaml");
        Files.createDirectories(out.getParent());
        Files.writeString(file, yaml);
        RecipeRunner.run(RecipeFile.read(file, List.of()), null, false);
        return out;
    }

    private static Map<String, Tensor> tensors(Path file) {
        StateDict d = Safetensors.read(file);
        return d.tensors();
    }

    /** The logged loss values and dev scores, step by step (timings left out). */
    private static List<String> losses(Path run) throws Exception {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream()
                .map(l -> l.replaceAll(",?\"(examples_per_second|seconds|eval_seconds)\":[^,}]*", "")).toList();
    }
}
