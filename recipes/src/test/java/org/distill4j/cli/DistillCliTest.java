package org.distill4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.distill4j.Json;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.ModelServer;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.ServerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line end to end, on the builtin models. */
class DistillCliTest {

    /** Surefire runs in the module directory, so the GLUE default must be passed explicitly. */
    static final String GLUE = System.getProperty("glue.dir", "../../shared/data/glue");

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = DistillCli.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void versionNamesDjlAndPytorch() {
        Run r = run("version");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("DJL 0.35.1") && r.out().contains("PyTorch 2.7.1"), r.out());
    }

    @Test
    void everySubcommandPrintsItsUsageOnHelpAndExitsCleanly() {
        for (String cmd : List.of("version", "inspect", "convert", "embed", "fill-mask", "finetune", "run", "validate",
                "eval", "predict", "report", "export", "serve", "glue", "glue download", "glue corpus", "lora", "lora merge",
                "importance", "extract", "prune")) {
            String[] args = (cmd + " --help").split(" ");
            Run r = run(args);
            assertEquals(0, r.code(), cmd + ": " + r.err());
            assertTrue(r.out().startsWith("Usage: distill " + cmd), cmd + ": " + r.out());
        }
        assertEquals(0, run("help", "run").code());
    }

    @Test
    void inspectCountsParametersByPart() {
        Run r = run("inspect", "builtin:all-minilm-l6-v2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("6 layers, hidden 384, 12 heads"), r.out());
        // 30522·384 + 512·384 + 2·384 + 2·384 (LayerNorm) = 11,918,592 for the embeddings.
        assertTrue(r.out().matches("(?s).*embeddings\\s+11,918,592.*"), r.out());
        assertTrue(r.out().matches("(?s).*total\\s+22,565,376.*"), r.out());
    }

    @Test
    void embedWritesOneNormalisedVectorPerLineAndSimilarTextsAreCloser() throws Exception {
        Path in = tmp.resolve("in.txt");
        Files.write(in, List.of("The weather in Lisbon was warm and sunny all week.",
                "It rained in Lisbon for most of the week.",
                "Knowledge distillation trains a small student to imitate a large teacher.",
                "How do I make a BERT model smaller?\tWhat is the best way to compress BERT?"));
        Path out = tmp.resolve("out.jsonl");
        Run r = run("embed", "--model", "builtin:all-minilm-l6-v2", "--input", in.toString(), "--output",
                out.toString(), "--normalize");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(4, lines.size());
        double[][] v = lines.stream().map(DistillCliTest::parse).toArray(double[][]::new);
        for (double[] x : v) {
            assertEquals(384, x.length);
            assertEquals(1.0, dot(x, x), 1e-5);
        }
        assertTrue(dot(v[0], v[1]) > dot(v[0], v[2]) + 0.3, "weather sentences should be closest");
        // The server's /embed gives the vectors ./distill embed wrote (single texts; it takes no pairs).
        List<String> texts = Files.readAllLines(in).subList(0, 3);
        try (ModelServer server = ModelServer.start(new ServerOptions("builtin:all-minilm-l6-v2", "127.0.0.1", 0,
                InferenceOptions.defaults().withMaxLength(128), Pooling.MEAN, 32, Duration.ofMillis(5), 16,
                Duration.ofSeconds(10)))) {
            HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/embed")).POST(HttpRequest.BodyPublishers
                    .ofString(Json.MAPPER.writeValueAsString(java.util.Map.of("inputs", texts)))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, resp.statusCode(), resp.body());
            JsonNode served = Json.MAPPER.readTree(resp.body());
            for (int i = 0; i < texts.size(); i++) {
                for (int d = 0; d < 384; d++) {
                    assertEquals(v[i][d], served.get(i).get(d).asDouble(), 1e-6, "text " + i + ", dimension " + d);
                }
            }
        }
    }

    @Test
    void embedRejectsAnUnknownPoolingAndNamesTheBadLine() throws Exception {
        Path in = tmp.resolve("in.txt");
        Files.write(in, List.of("fine", "a\tb\tc"));
        Run bad = run("embed", "--model", "builtin:all-minilm-l6-v2", "--input", in.toString(), "--output",
                tmp.resolve("o.jsonl").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains(in + ":2: 3 tab-separated fields"), bad.err());
        Run pooling = run("embed", "--model", "builtin:all-minilm-l6-v2", "--input", in.toString(), "--output",
                tmp.resolve("o.jsonl").toString(), "--pooling", "max");
        assertEquals(1, pooling.code());
        assertTrue(pooling.err().contains("pooling must be 'mean' or 'cls', got 'max'"), pooling.err());
    }

    @Test
    void convertWritesADirectoryThatInspectReads() {
        Path dir = tmp.resolve("bge");
        assertEquals(0, run("convert", "builtin:bge-small-en-v1.5", "--out", dir.toString()).code());
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        Run r = run("inspect", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("12 layers, hidden 384, 12 heads"), r.out());
    }

    @Test
    void unknownModelIsAnErrorNotACrash() {
        Run r = run("inspect", "builtin:gpt-7");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("Unknown builtin model 'builtin:gpt-7'"), r.err());
    }

    private static double[] parse(String line) {
        String[] parts = line.substring(1, line.length() - 1).split(",");
        double[] v = new double[parts.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = Double.parseDouble(parts[i]);
        }
        return v;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** A fine-tuning recipe of a 2-layer MiniLM cut on 32 WNLI pairs: what --replay and --stress are given. */
    private Path smallWnliRecipe(String name, Path out) throws Exception {
        Path recipe = tmp.resolve("r.yaml");
        Files.writeString(recipe, """
                name: %s
                method: finetune
                task: WNLI
                data:
                  glue_dir: %s
                  train_limit: 32
                student:
                  init: builtin:all-minilm-l6-v2
                  layers: [1, 2]
                output:
                  dir: %s
                """.formatted(name, GLUE, out));
        return recipe;
    }

    @Test
    void replayNamesTheMissingFileAndLeavesTheRunAlone() throws Exception {
        Path out = tmp.resolve("run");
        Path recipe = smallWnliRecipe("replay-test", out);
        Path dump = tmp.resolve("no-such-dump");
        Run r = run("run", recipe.toString(), "--replay", dump.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains(dump.resolve("skip.json").toString()), r.err());
        // A replay writes nothing into the run directory (its provenance stays the run's).
        assertTrue(!Files.exists(out.resolve("provenance.json")) && !Files.exists(out.resolve("recipe.yaml")),
                "a replay wrote into " + out);
    }

    /** The non-finite-gradient harness needs a run to start from, and says so (DistillationTest runs it). */
    @Test
    void stressWithoutARunNamesWhatIsMissing() throws Exception {
        Path out = tmp.resolve("run");
        Path recipe = smallWnliRecipe("stress-test", out);
        Run none = run("run", recipe.toString(), "--stress", "2,2");
        assertEquals(1, none.code(), none.out());
        assertTrue(none.err().contains(out + " has no checkpoint"), none.err());
        Run bad = run("run", recipe.toString(), "--stress", "2");
        assertEquals(1, bad.code(), bad.out());
        assertTrue(bad.err().contains("--stress takes UPDATES,REPEATS"), bad.err());
        assertTrue(!Files.exists(out.resolve("recipe.yaml")), "the harness wrote into " + out);
    }

    @Test
    void finetuneEvalPredictAndReportChainOnWnli() throws Exception {
        Path run = tmp.resolve("wnli");
        Run ft = run("finetune", "--model", "builtin:all-minilm-l6-v2", "--task", "WNLI", "--epochs", "1",
                "--train-limit", "32", "--batch-size", "16", "--max-length", "64", "--out", run.toString(),
                "--glue-dir", GLUE);
        assertEquals(0, ft.code(), ft.err());
        assertTrue(ft.out().contains("best epoch 1 of 1"), ft.out());
        // A second fine-tuning into the same --out is refused before it loads anything.
        byte[] kept = Files.readAllBytes(run.resolve("best/model.safetensors"));
        Run again = run("finetune", "--model", "builtin:all-minilm-l6-v2", "--task", "WNLI", "--out", run.toString(),
                "--glue-dir", GLUE);
        assertEquals(1, again.code(), again.err());
        assertTrue(again.err().contains(run + " already holds a finished fine-tuning") && again.err().contains(
                "--overwrite"), again.err());
        assertArrayEquals(kept, Files.readAllBytes(run.resolve("best/model.safetensors")));
        // The directory opens as HuggingFace's BertForSequenceClassification with WNLI's labels.
        JsonNode config = Json.MAPPER.readTree(run.resolve("best/config.json").toFile());
        assertEquals("BertForSequenceClassification", config.get("architectures").get(0).asText());
        assertEquals("{\"0\":\"0\",\"1\":\"1\"}", config.get("id2label").toString());
        assertEquals("single_label_classification", config.get("problem_type").asText());
        Run ev = run("eval", "--model", run.resolve("best").toString(), "--max-length", "64", "--glue-dir", GLUE);
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().startsWith("WNLI dev (71 examples): accuracy="), ev.out());
        assertTrue(Files.isRegularFile(run.resolve("best/eval-dev/metrics.json")));
        // Exported to ONNX and run by ONNX Runtime, the model scores what it scores on DJL, example for example.
        Path onnx = tmp.resolve("wnli-onnx/model.onnx");
        Run ex = run("export", "--model", run.resolve("best").toString(), "--out", onnx.toString());
        assertEquals(0, ex.code(), ex.err());
        Run evOnnx = run("eval", "--model", onnx.toString(), "--backend", "onnx", "--max-length", "64",
                "--glue-dir", GLUE);
        assertEquals(0, evOnnx.code(), evOnnx.err());
        assertEquals(ev.out().substring(0, ev.out().indexOf("->")), evOnnx.out().substring(0, evOnnx.out().indexOf("->")));
        assertEquals(Files.readString(run.resolve("best/eval-dev/predictions.tsv")),
                Files.readString(onnx.resolveSibling("eval-dev-onnx/predictions.tsv")));
        Run int8 = run("export", "--model", run.resolve("best").toString(), "--out",
                tmp.resolve("wnli-int8/model.onnx").toString(), "--int8");
        assertEquals(0, int8.code(), int8.err());
        assertTrue(int8.out().contains("int8 per column"), int8.out());
        Run pr = run("predict", "--model", run.resolve("best").toString(), "--max-length", "64", "--glue-dir", GLUE);
        assertEquals(0, pr.code(), pr.err());
        List<String> sub = Files.readAllLines(run.resolve("best/predict-test/WNLI.tsv"));
        assertEquals(147, sub.size()); // header + 146 test examples
        Run other = run("eval", "--model", run.resolve("best").toString(), "--task", "RTE", "--max-length", "64",
                "--glue-dir", GLUE);
        assertEquals(0, other.code(), other.err());
        assertTrue(other.err().contains("was trained on WNLI (its distill.json), not RTE"), other.err());
        Run bad = run("predict", "--model", run.resolve("best").toString(), "--split", "dev", "--glue-dir", GLUE);
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("not a test split"), bad.err());
        Run rep = run("report", run.toString(), "--out", tmp.resolve("report").toString(), "--speed-examples", "0",
                "--glue-dir", GLUE);
        assertEquals(0, rep.code(), rep.err());
        assertTrue(Files.readString(tmp.resolve("report/report.md")).contains("| builtin:all-minilm-l6-v2 |"));
        Run redraw = run("report", "--redraw", tmp.resolve("report").toString(), "--out", tmp.resolve("again").toString());
        assertEquals(0, redraw.code(), redraw.err());
        assertEquals(Files.readString(tmp.resolve("report/report.md")), Files.readString(tmp.resolve("again/report.md")));
        Run both = run("report", "--redraw", tmp.resolve("report").toString(), run.toString(), "--out",
                tmp.resolve("again").toString());
        assertEquals(1, both.code());
        assertTrue(both.err().contains("takes no RUN_DIR"), both.err());
    }

    @Test
    void importanceRewiresAndExtractCutsAModelThatEvalRuns() throws Exception {
        Path run = tmp.resolve("wnli");
        assertEquals(0, run("finetune", "--model", "builtin:all-minilm-l6-v2", "--task", "WNLI", "--epochs", "1",
                "--train-limit", "32", "--batch-size", "16", "--max-length", "64", "--out", run.toString(),
                "--glue-dir", GLUE).code());
        Path best = run.resolve("best");
        Run imp = run("importance", "--model", best.toString(), "--train-limit", "32", "--rewired",
                tmp.resolve("rewired").toString(), "--glue-dir", GLUE);
        assertEquals(0, imp.code(), imp.err());
        assertTrue(imp.out().contains("importance of 12 heads and 1536 neurons per layer over 32 WNLI"), imp.out());
        assertTrue(Files.isRegularFile(best.resolve("importance.json")));
        Run full = run("eval", "--model", best.toString(), "--glue-dir", GLUE);
        Run rewired = run("eval", "--model", tmp.resolve("rewired").toString(), "--glue-dir", GLUE);
        assertEquals(full.out().substring(0, full.out().indexOf("->")),
                rewired.out().substring(0, rewired.out().indexOf("->")), "rewiring keeps the function");
        Run ex = run("extract", "--model", tmp.resolve("rewired").toString(), "--width", "0.5", "--depth", "0.5",
                "--out", tmp.resolve("small").toString());
        assertEquals(0, ex.code(), ex.err());
        assertTrue(ex.out().contains("3 layers x 6 heads x 768 neurons (from 6 x 12 x 1536)"), ex.out());
        Run small = run("eval", "--model", tmp.resolve("small").toString(), "--glue-dir", GLUE);
        assertEquals(0, small.code(), small.err());
        assertTrue(small.out().startsWith("WNLI dev (71 examples): accuracy="), small.out());
        Run pr = run("prune", "--model", best.toString(), "--heads", "0.25", "--ffn", "0.5", "--out",
                tmp.resolve("pruned").toString());
        assertEquals(0, pr.code(), pr.err());
        assertTrue(pr.out().contains("kept 9 of 12 heads and 768 of 1536 neurons in each of 6 layers"), pr.out());
        assertEquals(0, run("eval", "--model", tmp.resolve("pruned").toString(), "--glue-dir", GLUE).code());
        Run bad = run("extract", "--model", best.toString(), "--width", "1.5", "--out", tmp.resolve("x").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("width must be in (0, 1], got 1.5"), bad.err());
    }

    @Test
    void loraFinetuneThenMergeGivesTheModelTheRunKept() throws Exception {
        Path run = tmp.resolve("wnli-lora");
        Run ft = run("finetune", "--model", "builtin:all-minilm-l6-v2", "--task", "WNLI", "--epochs", "1",
                "--train-limit", "32", "--batch-size", "16", "--max-length", "64", "--out", run.toString(),
                "--lora-rank", "4", "--lora-targets", "query,key,value", "--glue-dir", GLUE);
        assertEquals(0, ft.code(), ft.err());
        assertTrue(ft.err().contains("LoRA r=4 alpha=8 on 18 projections [query, key, value]"), ft.err());
        assertTrue(ft.out().contains("adapter in " + run.resolve("adapter")), ft.out());
        Run merge = run("lora", "merge", "--adapter", run.resolve("adapter").toString(), "--out",
                tmp.resolve("merged").toString());
        assertEquals(0, merge.code(), merge.err());
        Run kept = run("eval", "--model", run.resolve("best").toString(), "--glue-dir", GLUE);
        Run merged = run("eval", "--model", tmp.resolve("merged").toString(), "--glue-dir", GLUE);
        assertEquals(kept.out().substring(0, kept.out().indexOf("->")),
                merged.out().substring(0, merged.out().indexOf("->")));
        Run noRank = run("finetune", "--model", "builtin:all-minilm-l6-v2", "--task", "WNLI", "--lora-alpha", "8",
                "--out", tmp.resolve("x").toString(), "--glue-dir", GLUE);
        assertEquals(1, noRank.code());
        assertTrue(noRank.err().contains("need --lora-rank"), noRank.err());
    }

    @Test
    void glueDownloadReportsAnUnreachableServerClearly() {
        Run r = run("glue", "download", "--tasks", "RTE", "--dir", tmp.resolve("g").toString(), "--mirror",
                "http://127.0.0.1:1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("distill glue download: Cannot download http://127.0.0.1:1/glue/data/RTE.zip"),
                r.err());
    }
}
