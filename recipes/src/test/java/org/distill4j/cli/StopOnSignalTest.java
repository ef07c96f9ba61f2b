package org.distill4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.distill4j.Json;
import org.distill4j.recipe.RecipeFile;
import org.distill4j.recipe.RecipeRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to a training run (what {@code kill}, {@code timeout} and container stops send): the run
 * finishes its update, writes a checkpoint and exits with 143, without the SIGSEGV that libtorch's
 * static destructors caused under a thread still in a backward pass; and the run resumes from that
 * checkpoint to its end.
 */
class StopOnSignalTest {

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void sigtermFinishesTheUpdateWritesACheckpointAndExitsCleanly() throws Exception {
        Path recipe = tmp.resolve("recipe.yaml");
        Files.writeString(recipe, """
                name: stop-on-signal
                method: finetune
                task: SST-2
                seed: 7
                data:
                  max_length: 32
                  train_limit: 256
                  glue_dir: %s
                student:
                  init: builtin:all-minilm-l6-v2
                  layers: [1, 2]
                train:
                  epochs: 1
                  batch_size: 16
                  lr: 5.0e-5
                output:
                  speed_examples: 0
                """.formatted(Path.of(DistillCliTest.GLUE).toAbsolutePath()));
        Path stopped = tmp.resolve("stopped");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-Xmx3g", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), DistillCli.class.getName(), "run", recipe.toString(),
                "--set", "output.dir=" + stopped)).directory(tmp.toFile()).redirectErrorStream(true);
        Process p = pb.start();
        StringBuilder log = new StringBuilder();
        CountDownLatch training = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null;) {
                    synchronized (log) {
                        log.append(line).append('\n');
                    }
                    if (line.startsWith("train")) {
                        training.countDown();
                    }
                }
            } catch (java.io.IOException e) {
                // the process ended
            }
        });
        reader.start();
        assertTrue(training.await(180, TimeUnit.SECONDS), "training never started:\n" + log);
        p.toHandle().destroy(); // SIGTERM; Process.destroy would also close the pipe the rest of the log comes on
        assertTrue(p.waitFor(200, TimeUnit.SECONDS), "the stopped run did not exit:\n" + log);
        reader.join(10_000);
        String out;
        synchronized (log) {
            out = log.toString();
        }
        assertEquals(143, p.exitValue(), out);
        assertFalse(out.contains("A fatal error"), out);
        try (Stream<Path> files = Files.list(tmp)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("hs_err")), out);
        }
        Matcher m = Pattern.compile("stopped on request after update (\\d+) of (\\d+): checkpoint written")
                .matcher(out);
        assertTrue(m.find(), out);
        int step = Integer.parseInt(m.group(1));
        assertTrue(step >= 1 && step < Integer.parseInt(m.group(2)), out);
        JsonNode state = Json.MAPPER.readTree(stopped.resolve("checkpoint/state.json").toFile());
        assertEquals(step, state.get("step").asInt());
        assertFalse(state.get("finished").asBoolean());

        // Exact resume itself is DistillationTest's, FineTunerTest's and the fault suite's business;
        // here: the checkpoint the stop wrote is one a run continues from.
        assertEquals(0, DistillCli.run("run", recipe.toString(), "--set", "output.dir=" + stopped, "--resume"));
        JsonNode done = Json.MAPPER.readTree(stopped.resolve("checkpoint/state.json").toFile());
        assertTrue(done.get("finished").asBoolean());
        assertEquals(Integer.parseInt(m.group(2)), done.get("step").asInt());
        assertTrue(Files.isRegularFile(stopped.resolve("best/model.safetensors")));

        // A finished run resumed again (a queue started over) keeps the report it wrote: not scored
        // or timed anew, its records not rewritten.
        List<String> records = List.of("report.json", "report.md", "provenance.json", "recipe.yaml", "metrics.jsonl");
        Map<String, byte[]> before = new HashMap<>();
        Map<String, FileTime> stamps = new HashMap<>();
        for (String f : records) {
            before.put(f, Files.readAllBytes(stopped.resolve(f)));
            stamps.put(f, Files.getLastModifiedTime(stopped.resolve(f)));
        }
        Thread.sleep(20); // a rewrite would show in the modification time
        assertEquals(0, DistillCli.run("run", recipe.toString(), "--set", "output.dir=" + stopped, "--resume"));
        // The Java API alike: the outcome is read back from the records, which stay untouched.
        RecipeRunner.Outcome again = RecipeRunner.run(RecipeFile.read(recipe, List.of("output.dir=" + stopped)),
                null, true);
        for (String f : records) {
            assertArrayEquals(before.get(f), Files.readAllBytes(stopped.resolve(f)), f);
            assertEquals(stamps.get(f), Files.getLastModifiedTime(stopped.resolve(f)), f);
        }
        JsonNode report = Json.MAPPER.readTree(before.get("report.json"));
        assertEquals(report.get("steps").asInt(), again.training().steps());
        assertEquals(report.get("best_step").asInt(), again.training().best().step());
        assertEquals(report.get("rows").size(), again.rows().size());
        for (int i = 0; i < again.rows().size(); i++) {
            JsonNode row = report.get("rows").get(i);
            assertEquals(row.get("role").asText(), again.rows().get(i).role());
            assertEquals(row.get("dev").get("score").asDouble(), again.rows().get(i).dev().score());
            assertEquals(row.get("dev").get("metrics").size(), again.rows().get(i).dev().metrics().size());
            assertEquals(row.get("parameters").asLong(), again.rows().get(i).parameters());
        }
        assertFalse(again.training().evaluations().isEmpty());
    }
}
