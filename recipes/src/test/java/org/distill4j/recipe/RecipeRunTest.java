package org.distill4j.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole recipe on a real SST-2 slice: the teacher is fine-tuned on the fly (teacher.finetune),
 * a 3-layer PKD student is distilled from it, and the run directory holds what the docs promise.
 */
class RecipeRunTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    @Test
    void pkdRecipeRunsEndToEndAndBeatsChance() throws Exception {
        Path teacher = tmp.resolve("teacher/best");
        Path out = tmp.resolve("run");
        String yaml = """
                name: pkd-test
                method: pkd
                task: SST-2
                seed: 3
                data:
                  max_length: 48
                  train_limit: 960
                  glue_dir: %s
                teacher:
                  model: %s
                  finetune:
                    base: builtin:all-minilm-l6-v2
                    epochs: 1
                    lr: 1.0e-4
                    train_limit: 960
                student:
                  layers: [1, 2, 3]
                distill:
                  strategy: skip
                train:
                  epochs: 2
                  lr: 5.0e-4          # a 3-layer cut of MiniLM needs a brisk start: at 1e-4 it stays at chance for 60 steps
                  eval_every: 30
                output:
                  dir: %s
                  speed_examples: 64
                """.formatted(GLUE.toAbsolutePath(), teacher, out);
        Path file = tmp.resolve("pkd.yaml");
        Files.writeString(file, yaml);
        RecipeRunner.Outcome o = RecipeRunner.run(RecipeFile.read(file, List.of()), null, false);

        assertEquals(2, o.rows().size());
        // SST-2 dev: 444 of 872 positive, so chance is 0.51 and σ of accuracy ≈ 0.017.
        double teacherAcc = o.rows().get(0).dev().score();
        double studentAcc = o.rows().get(1).dev().score();
        assertTrue(teacherAcc > 0.70, "teacher dev accuracy " + teacherAcc);
        assertTrue(studentAcc > 0.62, "student dev accuracy " + studentAcc);
        assertTrue(o.rows().get(1).parameters() < o.rows().get(0).parameters());
        assertEquals(60, o.training().steps()); // 960 / 32 × 2 epochs

        for (String f : List.of("recipe.yaml", "provenance.json", "metrics.jsonl", "report.md", "report.json",
                "best/config.json", "best/model.safetensors", "best/tokenizer.json", "best/distill.json",
                "checkpoint/state.json")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode info = new ObjectMapper().readTree(out.resolve("best/distill.json").toFile());
        assertEquals("pkd", info.path("method").asText());
        assertEquals("SST-2", info.path("task").asText());
        assertEquals(64, info.path("provenance").path("teacherHash").asText().length(), info.toString());
        assertEquals(64, info.path("provenance").path("configHash").asText().length(), info.toString());
        assertEquals(2, info.path("provenance").path("dataFiles").size(), info.toString()); // train, dev
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"patience\""), metrics);
        assertTrue(Files.readString(out.resolve("report.md")).contains("| student `"));
    }
}
