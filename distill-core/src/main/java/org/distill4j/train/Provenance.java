package org.distill4j.train;

import ai.djl.engine.Engine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.distill4j.Sha256;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * How a model was made, written as {@code provenance.json} with every run and copied into the
 * model's {@code distill.json}: enough to tell two runs apart and to redo one.
 *
 * @param gitCommit the commit the running code was built from, with {@code -dirty} if the tree had
 *     uncommitted changes ("unknown" outside git); see {@link #currentCommit}
 * @param configHash SHA-256 of the resolved recipe
 * @param dataFiles SHA-256 of each data file read, by path
 * @param teacher the teacher's name, or null
 * @param teacherHash SHA-256 over the teacher's tensors (names and float values), or null
 * @param studentStart the checkpoint the student's weights were cut from (the teacher's layers, or
 *     {@code student.init}), or null for a student of a new shape; recorded for plain fine-tuning
 *     too, whose result depends on it as much as a distilled student's on its teacher
 * @param studentStartHash SHA-256 over that checkpoint's tensors, as for the teacher, or null
 * @param seed the run's seed
 * @param versions distill4j, DJL, PyTorch, Java and OS versions
 * @param created when the run started (UTC)
 */
public record Provenance(String gitCommit, String configHash, Map<String, String> dataFiles, String teacher,
        String teacherHash, String studentStart, String studentStartHash, long seed, Map<String, String> versions,
        String created) {

    /** The system property that names the commit the application was built from. */
    public static final String BUILD_COMMIT = "distill4j.commit";

    /** Provenance of a run starting now. */
    public static Provenance of(String configHash, Iterable<Path> dataFiles, String teacher, StateDict teacherWeights,
            String studentStart, StateDict studentStartWeights, long seed) {
        Map<String, String> data = new LinkedHashMap<>();
        for (Path f : dataFiles) {
            data.put(f.toString(), sha256(f));
        }
        String teacherHash = teacherWeights == null ? null : sha256(teacherWeights);
        // The usual case is a student cut from its teacher: hash a BERT-base once, not twice.
        String startHash = studentStartWeights == null ? null
                : studentStartWeights == teacherWeights ? teacherHash : sha256(studentStartWeights);
        return new Provenance(currentCommit(), configHash, data, teacher, teacherHash, studentStart, startHash, seed,
                currentVersions(), Instant.now().toString());
    }

    /** The versions of everything that decides the numbers. */
    public static Map<String, String> currentVersions() {
        Map<String, String> v = new LinkedHashMap<>();
        String own = Provenance.class.getPackage().getImplementationVersion();
        v.put("distill4j", own == null ? "development build" : own);
        v.put("djl", Engine.getDjlVersion());
        v.put("pytorch", Engine.getEngine("PyTorch").getVersion());
        v.put("java", System.getProperty("java.version"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        v.put("cpus", Integer.toString(Runtime.getRuntime().availableProcessors()));
        return v;
    }

    /** SHA-256 of a file, hex. */
    public static String sha256(Path file) {
        return Sha256.of(file);
    }

    /** SHA-256 over tensor names and values, in name order: the same weights give the same hash. */
    public static String sha256(StateDict weights) {
        MessageDigest d = Sha256.digest();
        for (Map.Entry<String, Tensor> e : new TreeMap<>(weights.tensors()).entrySet()) {
            d.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            float[] data = e.getValue().data();
            ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(data);
            d.update(b);
        }
        return Sha256.hex(d.digest());
    }

    /**
     * The commit of the code that runs. The {@code distill} launcher records it when it builds the
     * application and passes it as {@value #BUILD_COMMIT}: a frozen copy of the application
     * ({@code DISTILL_APP}) may run long after the checkout has moved on, and the checkout's HEAD
     * would then name code that did not run. Without the property (Maven, an IDE, an application
     * built before the launcher recorded it), the checkout's HEAD, "-dirty" when there are
     * uncommitted changes; "unknown" without git.
     */
    public static String currentCommit() {
        String built = System.getProperty(BUILD_COMMIT);
        if (built != null && !built.isBlank()) {
            return built.trim();
        }
        String head = git("rev-parse", "HEAD");
        if (head == null) {
            return "unknown";
        }
        String status = git("status", "--porcelain", "--untracked-files=no");
        return status == null || status.isEmpty() ? head : head + "-dirty";
    }

    private static String git(String... args) {
        try {
            String[] cmd = new String[args.length + 1];
            cmd[0] = "git";
            System.arraycopy(args, 0, cmd, 1, args.length);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return null;
            }
            return out;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
