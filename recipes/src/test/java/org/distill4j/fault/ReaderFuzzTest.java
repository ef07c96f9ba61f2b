package org.distill4j.fault;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.distill4j.DistillException;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.recipe.RecipeFile;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.OnnxBertReader;
import org.distill4j.weights.OnnxExport;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;
import org.distill4j.weights.TfTensorBundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeded mutation fuzzing of every file reader a user hands files to: GLUE TSV, recipe YAML, a
 * model directory's model.safetensors, config.json and tokenizer.json, ONNX, and TensorFlow
 * bundles. Each case damages a valid file ({@link Mutator}) and reads it the way the CLI does. A
 * case may load or be refused with a {@link DistillException} whose message names the file; any
 * other exception or error, an empty message, or a read that takes over 20 s fails the test, with
 * the seed and case number that reproduce it.
 *
 * <p>CI runs {@code -Dfuzz.cases} (default 150) cases per reader; {@code scripts/fuzz-readers.sh}
 * runs thousands as a benchmark.
 */
class ReaderFuzzTest {

    private static final int CASES = Integer.getInteger("fuzz.cases", 150);
    private static final long SEED = Long.getLong("fuzz.seed", 20261205L);
    private static final long HANG_SECONDS = 20;

    /** What a target reads: a valid file, where it goes, and the reader run on the damaged copy. */
    private record Target(List<byte[]> seeds, boolean text, String fileName, Reader read) {
        Target(byte[] seed, boolean text, String fileName, Reader read) {
            this(List.of(seed), text, fileName, read);
        }

        /** Cases take the valid files in turn. */
        byte[] seed(int caseNumber) {
            return seeds.get(caseNumber % seeds.size());
        }
    }

    @FunctionalInterface
    private interface Reader {
        void read(Path file) throws Exception;
    }

    static Path work;
    static Map<String, Target> targets = new LinkedHashMap<>();
    static ExecutorService worker;

    @BeforeAll
    static void seeds() throws IOException {
        work = Files.createTempDirectory("distill4j-fuzz");
        worker = newWorker();
        Checkpoint minilm = Checkpoint.load("builtin:all-minilm-l6-v2");
        Checkpoint tiny;
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(BertConfig.of(128, 16, 2, 2, 32),
                        new BertModel.Heads(true, false, 2), m)) {
            tiny = new Checkpoint("tiny", model.config(), StateDict.of(model, "tiny"), minilm.tokenizerJson());
        }
        Path dir = work.resolve("seed-model");
        HfModelDirectory.write(tiny, dir);

        Path glue = Path.of(System.getProperty("glue.dir", GlueReader.locate(null).toString()));
        List<String> mrpc = Files.readAllLines(glue.resolve("MRPC/train.tsv"), StandardCharsets.UTF_8);
        targets.put("tsv", new Target(String.join("\n", mrpc.subList(0, 40)).getBytes(StandardCharsets.UTF_8), true,
                "MRPC/train.tsv", file -> GlueReader.read(file.getParent().getParent(), GlueTask.MRPC,
                        GlueTask.MRPC.train(), false)));
        List<byte[]> recipes = new ArrayList<>();
        for (String r : new String[] {"quickstart.yaml", "bge-small/mrpc-pkd-skip.yaml",
                "tinybert/bge-small/rte-tinybert4-aug.yaml", "dynabert/bge-small-mrpc-wd.yaml",
                "lora/bge-small-mrpc-pkd-skip-lora.yaml", "bge-small/sst2-distilbert.yaml"}) {
            recipes.add(Files.readAllBytes(Path.of(System.getProperty("project.root", "..")).resolve("configs")
                    .resolve(r)));
        }
        targets.put("yaml", new Target(recipes, true, "recipe.yaml", file -> RecipeFile.read(file, List.of())));
        targets.put("safetensors", new Target(Files.readAllBytes(dir.resolve("model.safetensors")), false,
                "model/model.safetensors", ReaderFuzzTest::loadModel));
        targets.put("config.json", new Target(Files.readAllBytes(dir.resolve("config.json")), true,
                "model/config.json", ReaderFuzzTest::loadModel));
        targets.put("tokenizer.json", new Target(Files.readAllBytes(dir.resolve("tokenizer.json")), true,
                "model/tokenizer.json", ReaderFuzzTest::loadTokenizer));
        targets.put("onnx", new Target(OnnxExport.toBytes(tiny, OnnxExport.Options.FP32), false, "model.onnx",
                file -> {
                    var w = OnnxBertReader.read(new ByteArrayInputStream(Files.readAllBytes(file)), file.toString(), 0);
                    try (NDManager m = NDManager.newBaseManager();
                            BertModel ignored = new Checkpoint(file.toString(), w.config(), w.weights(), new byte[0])
                                    .toModel(m)) {
                        // built: the weights fit the config the reader inferred
                    }
                }));
        Map<String, Tensor> tf = new LinkedHashMap<>();
        tiny.weights().tensors().forEach((k, v) -> tf.put("bert/" + k.replace('.', '/'), v));
        TfBundleWriter.Bundle bundle = TfBundleWriter.write(tf);
        // The index is what carries structure; the shard is appended so that it can be damaged too.
        byte[] both = new byte[bundle.index().length + bundle.data().length];
        System.arraycopy(bundle.index(), 0, both, 0, bundle.index().length);
        System.arraycopy(bundle.data(), 0, both, bundle.index().length, bundle.data().length);
        int indexLength = bundle.index().length;
        targets.put("tf-bundle", new Target(both, false, "variables", file -> {
            byte[] b = Files.readAllBytes(file);
            int cut = Math.min(indexLength, b.length);
            TfTensorBundle.read(java.util.Arrays.copyOf(b, cut), java.util.Arrays.copyOfRange(b, cut, b.length),
                    file.toString());
        }));
        // The seeds themselves must load: otherwise every case would be a refusal and prove nothing.
        for (Map.Entry<String, Target> t : targets.entrySet()) {
            for (int i = 0; i < t.getValue().seeds().size(); i++) {
                Path f = place(t.getKey() + "-seed" + i, t.getValue(), t.getValue().seed(i));
                try {
                    t.getValue().read().read(f);
                } catch (Exception e) {
                    throw new AssertionError("the " + t.getKey() + " seed " + i + " does not load: " + e, e);
                }
            }
        }
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true); // a hung case must not keep the JVM alive
            return t;
        });
    }

    @AfterAll
    static void cleanUp() throws IOException {
        worker.shutdownNow();
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void loadModel(Path file) {
        try (NDManager m = NDManager.newBaseManager();
                BertModel ignored = Checkpoint.load(file.getParent().toString()).toModel(m)) {
            // built
        }
    }

    private static void loadTokenizer(Path file) {
        try (BertTokenizer tok = Checkpoint.load(file.getParent().toString()).tokenizer(32)) {
            tok.batch(List.of("Amrozi accused his brother of deliberately distorting his evidence ."),
                    List.of("Referring to him as only \" the witness \" , Amrozi accused his brother ."));
        }
    }

    /** Writes the case into a fresh directory laid out as its reader expects (a model dir gets all three files). */
    private static Path place(String caseName, Target t, byte[] bytes) throws IOException {
        Path dir = work.resolve(caseName);
        Path file = dir.resolve(t.fileName());
        Files.createDirectories(file.getParent());
        if (t.fileName().startsWith("model/")) {
            Path seed = work.resolve("seed-model");
            for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
                Files.copy(seed.resolve(f), file.getParent().resolve(f));
            }
        }
        Files.write(file, bytes);
        return file;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tsv", "yaml", "safetensors", "config.json", "tokenizer.json", "onnx", "tf-bundle"})
    void damagedFilesAreRefusedWithAMessageNamingTheFile(String name) throws Exception {
        Target t = targets.get(name);
        List<String> bugs = new ArrayList<>();
        int loaded = 0;
        int refused = 0;
        for (int c = 0; c < CASES && bugs.size() < 10; c++) {
            Mutator.Result m = new Mutator(SEED, c).mutate(t.seed(c), t.text());
            Path file = place(name + "-" + c, t, m.bytes());
            Future<?> run = worker.submit(() -> {
                t.read().read(file);
                return null;
            });
            String where = name + " case " + c + " (seed " + SEED + "; " + m.description() + "): ";
            try {
                run.get(HANG_SECONDS, TimeUnit.SECONDS);
                loaded++;
            } catch (TimeoutException e) {
                run.cancel(true);
                bugs.add(where + "no answer after " + HANG_SECONDS + " s");
                worker = newWorker(); // the hung thread keeps the old one
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                String message = cause.getMessage();
                if (!(cause instanceof DistillException)) {
                    bugs.add(where + stack(cause));
                } else if (message == null || message.isBlank()) {
                    bugs.add(where + "DistillException without a message");
                } else if (!message.contains(Path.of(t.fileName()).getFileName().toString())
                        && !message.contains(file.getParent().toString())) {
                    bugs.add(where + "the message does not name the file: " + message);
                } else {
                    refused++;
                }
            }
            deleteTree(work.resolve(name + "-" + c));
        }
        System.out.printf("fuzz %-14s %5d cases: %5d loaded, %5d refused with a message, %d defects%n",
                name, loaded + refused + bugs.size(), loaded, refused, bugs.size());
        assertTrue(bugs.isEmpty(), bugs.size() + " defects in the " + name + " reader:\n" + String.join("\n", bugs));
        assertTrue(refused > 0, "no damaged " + name + " case was refused: the mutations do not reach the reader");
    }

    private static String stack(Throwable t) {
        StringBuilder s = new StringBuilder(t.toString());
        StackTraceElement[] st = t.getStackTrace();
        for (int i = 0; i < Math.min(4, st.length); i++) {
            s.append("\n      at ").append(st[i]);
        }
        return s.toString();
    }

    private static void deleteTree(Path p) throws IOException {
        try (var files = Files.walk(p)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
