package org.distill4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.AtomicFile;
import org.distill4j.Sha256;
import org.distill4j.loss.TeacherOutputs;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * The frozen teacher's outputs for every training example, computed in one pass before training:
 * its task logits and, when terms need them, the [CLS] vector after every layer (Patient-KD), the
 * token states of some layers (DistilBERT's cosine term, hidden-state MSE) and the pre-softmax
 * attention scores of some layers (TinyBERT's attention term). The teacher runs
 * in inference mode, so these do not change between epochs; every epoch after the first then skips
 * the teacher's forward pass, which is 40% of a 6-layer student's step with a 12-layer teacher and
 * more for smaller students.
 *
 * <p>Token states are kept without padding, one row per real token, and attention scores as each
 * head's [tokens × tokens] block of real queries and keys; both are padded with zeros when a batch
 * is made: the terms leave padding positions out. Attention scores are what makes a TinyBERT
 * intermediate stage cheap to repeat over its 10 to 50 epochs, and also what makes a cache large
 * (heads × tokens² per kept layer and example), so the heap budget decides whether they are kept.
 * Computed in a fixed order and batching, so that a resumed run reads the same bits as a fresh one
 * (padding to a batch's length may change the last bit of a result).
 *
 * <p>Kept on disk too, in a store directory (the trainer's {@code teacherCacheDir}), under a
 * SHA-256 of everything that decides the outputs: the teacher's parameter values, the token ids of
 * every batch in order, what is kept, the precision, the device and the engine's version. A resumed
 * run, or another student distilled from the same teacher on the same data, then reads the file
 * instead of running the teacher again (the pass takes as long as a sixth of the training), and
 * reads the very bits the first run trained on, even where the CPU's kernels are not deterministic
 * run to run. A file that does not match (truncated, another format) is rebuilt.
 *
 * <p>Public are the batching ({@link #batches}) and one batch's forward pass ({@link #forward}),
 * so that teacher outputs computed elsewhere (the Spark job) are the same numbers, and {@link #of}
 * with {@link Provided}, through which a trainer takes such outputs instead of its own pass. Like
 * a cache built here, provided outputs are held in the Java heap.
 */
public final class TeacherCache {

    /** Examples per teacher batch while filling the cache. */
    public static final int BATCH = 64;

    /** The first bytes of a cache file, with the format's version. */
    // v2 ends with a CRC-32C of everything before it: a flipped bit would otherwise teach silently;
    // v3 adds attention scores.
    private static final byte[] MAGIC = "D4JTCv3\n".getBytes(StandardCharsets.US_ASCII);

    private final int outputs;
    private final int states;
    private final int hidden;
    private final int[] layers;
    private final int[] tokens;
    private final float[][] logits;
    private final float[][] cls;
    private final float[][] tokenStates;
    private final int heads;
    private final int[] scoreLayers;
    private final float[][] scores;

    private TeacherCache(int outputs, int states, int hidden, int[] layers, int[] tokens, float[][] logits,
            float[][] cls, float[][] tokenStates, int heads, int[] scoreLayers, float[][] scores) {
        this.outputs = outputs;
        this.states = states;
        this.hidden = hidden;
        this.layers = layers;
        this.tokens = tokens;
        this.logits = logits;
        this.cls = cls;
        this.tokenStates = tokenStates;
        this.heads = heads;
        this.scoreLayers = scoreLayers;
        this.scores = scores;
    }

    /**
     * Runs the teacher over every example, or returns null (saying why on stderr) when what would
     * be kept takes more than {@code budgetBytes} of the Java heap (the trainer gives half of it).
     *
     * @param withLogits keep the task-head outputs
     * @param withCls keep the [CLS] vector of the embeddings and of every layer
     * @param hiddenLayers keep the token states after these layers (0 = embeddings); may be empty
     * @param scoreLayers keep the pre-softmax attention scores of these layers (1 and up); may be empty
     * @param lengths a length proxy per example: batches are formed in length order, for speed
     * @param store the directory that keeps cache files between runs, or null to keep nothing
     * @param precision the precision the teacher computes in (part of the file's key)
     * @param scope the manager under which each batch's arrays are made and freed
     */
    static TeacherCache build(BertModel teacher, ParameterStore ps, BertTokenizer tokenizer, TrainingData data,
            int[] lengths, boolean withLogits, boolean withCls, Set<Integer> hiddenLayers, Set<Integer> scoreLayers,
            long budgetBytes, Path store, Precision precision, NDManager scope) {
        int n = data.size();
        int outputs = withLogits ? teacher.heads().taskOutputs() : 0;
        int states = teacher.config().numHiddenLayers() + 1;
        int hidden = teacher.config().hiddenSize();
        int[] layers = hiddenLayers.stream().mapToInt(Integer::intValue).sorted().toArray();
        int[] scoreAt = scoreLayers.stream().mapToInt(Integer::intValue).sorted().toArray();
        int heads = teacher.config().numAttentionHeads();
        // Before tokenising everything (a general-distillation corpus can have millions of lines), a
        // bound from below: no WordPiece token averages 16 characters, so a text of c characters has
        // at least 2 + c / 16 tokens.
        long least = 0;
        for (int i = 0; i < n; i++) {
            long t = 2 + lengths[i] / 16;
            least += Float.BYTES * (t * layers.length * hidden + t * t * scoreAt.length * heads);
        }
        if (least > budgetBytes) {
            System.err.println(notCached(n, "more than " + gb(least), budgetBytes, 0));
            return null;
        }
        // Tokenise first: the token states' size is known only from the token counts.
        List<int[]> batches = batches(lengths);
        List<TokenBatch> tokenBatches = new ArrayList<>();
        int[] tokens = new int[n];
        long totalTokens = 0;
        long totalCells = 0;
        for (int[] idx : batches) {
            TokenBatch tb = data.batch(tokenizer, idx);
            for (int j = 0; j < idx.length; j++) {
                tokens[idx[j]] = tb.length(j);
                totalTokens += tokens[idx[j]];
                totalCells += (long) tokens[idx[j]] * tokens[idx[j]];
            }
            tokenBatches.add(tb);
        }
        long bytes = Float.BYTES * ((long) n * (outputs + (withCls ? (long) states * hidden : 0))
                + totalTokens * layers.length * hidden + totalCells * scoreAt.length * heads);
        if (bytes > budgetBytes) {
            System.err.println(notCached(n, gb(bytes), budgetBytes, bytes));
            return null;
        }
        Path file = null;
        byte[] key = null;
        if (store != null) {
            long started = System.nanoTime();
            key = key(teacher, batches, tokenBatches, outputs, withCls, layers, scoreAt, precision);
            file = store.resolve("teacher-" + Sha256.hex(key) + ".bin");
            TeacherCache kept = read(file, key, n, outputs, withCls ? states : 0, hidden, layers, tokens,
                    scoreAt.length > 0 ? heads : 0, scoreAt);
            if (kept != null) {
                System.err.printf("teacher outputs read from %s: %.0f MB for %d examples in %.1f s%n", file,
                        bytes / 1e6, n, (System.nanoTime() - started) / 1e9);
                return kept;
            }
        }

        float[][] logits = withLogits ? new float[n][] : null;
        float[][] cls = withCls ? new float[n][] : null;
        float[][] tokenStates = layers.length > 0 ? new float[n][] : null;
        float[][] scores = scoreAt.length > 0 ? new float[n][] : null;
        String label = withCls || layers.length > 0 || scores != null ? "teacher outputs" : "teacher logits";
        long passStart = System.nanoTime();
        try (ProgressBar bar = ConsoleProgress.start(label, n, 0, " examples")) {
            for (int b = 0; b < batches.size(); b++) {
                int[] idx = batches.get(b);
                TokenBatch tb = tokenBatches.get(b);
                BatchOutputs o = forward(teacher, ps, tb, withLogits, withCls, layers, scoreAt, scope);
                for (int j = 0; j < idx.length; j++) {
                    if (logits != null) {
                        logits[idx[j]] = o.logits()[j];
                    }
                    if (cls != null) {
                        cls[idx[j]] = o.cls()[j];
                    }
                    if (tokenStates != null) {
                        tokenStates[idx[j]] = o.tokenStates()[j];
                    }
                    if (scores != null) {
                        scores[idx[j]] = o.scores()[j];
                    }
                }
                bar.stepBy(idx.length);
            }
        }
        System.err.printf("teacher outputs cached: %.0f MB for %d examples (%d tokens), teacher pass %.1f s%n",
                bytes / 1e6, n, totalTokens, (System.nanoTime() - passStart) / 1e9);
        TeacherCache built = new TeacherCache(outputs, states, hidden, layers, tokens, logits, cls, tokenStates,
                scores != null ? heads : 0, scoreAt, scores);
        if (file != null) {
            built.write(file, key);
        }
        return built;
    }

    private static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
    }

    /**
     * Why the cache is not built (its budget is half the Java heap), and the heap that would hold
     * {@code bytes} when they are known (0: only a bound is).
     */
    private static String notCached(int n, String need, long budgetBytes, long bytes) {
        return String.format(Locale.ROOT, "teacher outputs not cached (the teacher runs with every batch): %d "
                + "examples need %s, more than the cache's %s (half the Java heap)", n, need, gb(budgetBytes))
                + (bytes > 0 ? String.format(Locale.ROOT, "; DISTILL_JAVA_OPTS=-Xmx%dg would hold them",
                        (int) Math.ceil(2 * bytes / 1e9) + 1) : "");
    }

    /**
     * Teacher outputs that were computed elsewhere, loaded for what a stage's terms read. The
     * trainer asks once per stage whose terms read only logits, [CLS] vectors or hidden states.
     */
    @FunctionalInterface
    public interface Provided {
        /**
         * The outputs for the stage's {@code examples} training examples, in their order.
         *
         * @param logits whether the task logits are needed
         * @param cls whether the [CLS] vectors of the embeddings and every layer are needed
         * @param layers the layers whose token states are needed, ascending (0 = embeddings)
         */
        TeacherCache load(boolean logits, boolean cls, int[] layers, int examples);
    }

    /**
     * Teacher outputs read from elsewhere, per example in training order, in {@link BatchOutputs}'s
     * layout; an array is null when not kept ({@code outputs} 0, {@code states} 0, no layers).
     *
     * @param tokens per example, its real tokens (the length its token states were cut to)
     */
    public static TeacherCache of(int outputs, int states, int hidden, int[] layers, int[] tokens, float[][] logits,
            float[][] cls, float[][] tokenStates) {
        int n = tokens.length;
        if ((logits != null && logits.length != n) || (cls != null && cls.length != n)
                || (tokenStates != null && tokenStates.length != n) || (layers.length > 0) != (tokenStates != null)) {
            throw new IllegalArgumentException("teacher outputs for " + n + " examples do not agree in number or "
                    + "in what they keep");
        }
        return new TeacherCache(logits == null ? 0 : outputs, cls == null ? 0 : states, hidden, layers.clone(),
                tokens.clone(), logits, cls, tokenStates, 0, new int[0], null);
    }

    /** Examples covered. */
    public int size() {
        return tokens.length;
    }

    /**
     * The batches the teacher runs in: example indices in order of {@code lengths} (a length proxy
     * per example), cut into runs of {@link #BATCH}. Padding to a batch's length may change a
     * result's last bit, so whoever computes teacher outputs to stand in for this cache's must use
     * these batches.
     */
    public static List<int[]> batches(int[] lengths) {
        int n = lengths.length;
        Integer[] order = new Integer[n];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingInt(i -> lengths[i]));
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < n; start += BATCH) {
            int[] idx = new int[Math.min(BATCH, n - start)];
            for (int j = 0; j < idx.length; j++) {
                idx[j] = order[start + j];
            }
            out.add(idx);
        }
        return out;
    }

    /**
     * One batch's teacher outputs, row j for the batch's example j; an array is null when not asked for.
     *
     * @param logits per example, the task head's outputs
     * @param cls per example, the [CLS] vector of the embeddings and of every layer, concatenated
     * @param tokenStates per example, the real tokens' states after each of the layers asked for,
     *     layer after layer, [tokens × hidden] each
     * @param scores per example, the pre-softmax attention scores of the real queries and keys in each
     *     of the score layers asked for, layer after layer and head after head, [tokens × tokens] each
     */
    public record BatchOutputs(float[][] logits, float[][] cls, float[][] tokenStates, float[][] scores) {}

    /** The teacher's outputs for one tokenised batch, in inference mode; arrays are freed with {@code scope}'s child. */
    public static BatchOutputs forward(BertModel teacher, ParameterStore ps, TokenBatch tb, boolean withLogits,
            boolean withCls, int[] layers, NDManager scope) {
        return forward(teacher, ps, tb, withLogits, withCls, layers, new int[0], scope);
    }

    /**
     * The teacher's outputs for one tokenised batch with the attention scores of {@code scoreLayers}
     * (1 and up) too; arrays are freed with {@code scope}'s child.
     */
    public static BatchOutputs forward(BertModel teacher, ParameterStore ps, TokenBatch tb, boolean withLogits,
            boolean withCls, int[] layers, int[] scoreLayers, NDManager scope) {
        int rows = tb.batchSize();
        int outputs = teacher.heads().taskOutputs();
        int states = teacher.config().numHiddenLayers() + 1;
        int hidden = teacher.config().hiddenSize();
        float[][] logits = withLogits ? new float[rows][] : null;
        float[][] cls = withCls ? new float[rows][] : null;
        float[][] tokenStates = layers.length > 0 ? new float[rows][] : null;
        float[][] scores = scoreLayers.length > 0 ? new float[rows][] : null;
        int heads = teacher.config().numAttentionHeads();
        try (NDManager s = scope.newSubManager()) {
            EncoderOutput out = teacher.encode(ps, tb.toInput(s), false);
            if (withLogits) {
                float[] flat = teacher.classify(ps, out, false).toFloatArray();
                for (int j = 0; j < rows; j++) {
                    logits[j] = Arrays.copyOfRange(flat, j * outputs, (j + 1) * outputs);
                }
            }
            if (withCls) {
                List<float[]> perState = new ArrayList<>(states);
                for (int l = 0; l < states; l++) {
                    perState.add(out.cls(l).toFloatArray());
                }
                for (int j = 0; j < rows; j++) {
                    float[] row = new float[states * hidden];
                    for (int l = 0; l < states; l++) {
                        System.arraycopy(perState.get(l), j * hidden, row, l * hidden, hidden);
                    }
                    cls[j] = row;
                }
            }
            if (tokenStates != null) {
                int seq = tb.sequenceLength();
                for (int j = 0; j < rows; j++) {
                    tokenStates[j] = new float[layers.length * tb.length(j) * hidden];
                }
                for (int k = 0; k < layers.length; k++) {
                    float[] flat = out.hidden(layers[k]).toFloatArray();
                    for (int j = 0; j < rows; j++) {
                        int len = tb.length(j) * hidden;
                        // BERT pads on the right: the real tokens are a row's first ones.
                        System.arraycopy(flat, j * seq * hidden, tokenStates[j], k * len, len);
                    }
                }
            }
            if (scores != null) {
                int seq = tb.sequenceLength();
                for (int j = 0; j < rows; j++) {
                    scores[j] = new float[scoreLayers.length * heads * tb.length(j) * tb.length(j)];
                }
                for (int k = 0; k < scoreLayers.length; k++) {
                    float[] flat = out.scores(scoreLayers[k]).toFloatArray(); // [rows, heads, seq, seq]
                    for (int j = 0; j < rows; j++) {
                        int t = tb.length(j);
                        copyBlocks(flat, j * heads * seq * seq, seq, scores[j], k * heads * t * t, t, heads, t);
                    }
                }
            }
        }
        return new BatchOutputs(logits, cls, tokenStates, scores);
    }

    /**
     * SHA-256 of what decides the teacher's outputs. Its parameter values rather than a file's name:
     * a teacher fine-tuned again in the same directory gets a new key.
     */
    private static byte[] key(BertModel teacher, List<int[]> batches, List<TokenBatch> tokenBatches, int outputs,
            boolean withCls, int[] layers, int[] scoreLayers, Precision precision) {
        MessageDigest d = Sha256.digest();
        d.update(MAGIC);
        String what = outputs + " outputs, cls " + withCls + ", layers " + Arrays.toString(layers) + ", scores "
                + Arrays.toString(scoreLayers) + ", batch "
                + BATCH + ", " + precision + ", " + Engine.getInstance().getEngineName() + " "
                + Engine.getInstance().getVersion() + ", " + teacher.manager().getDevice();
        d.update(what.getBytes(StandardCharsets.UTF_8));
        for (Map.Entry<String, Parameter> e : new TreeMap<>(teacher.namedParameters()).entrySet()) {
            NDArray a = e.getValue().getArray();
            d.update((e.getKey() + " " + a.getShape() + " " + a.getDataType()).getBytes(StandardCharsets.UTF_8));
            d.update(a.toByteBuffer());
        }
        for (int b = 0; b < batches.size(); b++) {
            TokenBatch tb = tokenBatches.get(b);
            ByteBuffer buf = ByteBuffer.allocate(4 * batches.get(b).length + 8 * 3 * tb.inputIds().length + 8)
                    .order(ByteOrder.LITTLE_ENDIAN);
            buf.putInt(tb.batchSize()).putInt(tb.sequenceLength());
            buf.asIntBuffer().put(batches.get(b));
            buf.position(buf.position() + 4 * batches.get(b).length);
            for (long[] ids : new long[][] {tb.inputIds(), tb.tokenTypeIds(), tb.attentionMask()}) {
                buf.asLongBuffer().put(ids);
                buf.position(buf.position() + 8 * ids.length);
            }
            d.update(buf.flip());
        }
        return d.digest();
    }

    /**
     * The cache kept in {@code file}, or null when there is none or it does not match what this run
     * needs (it is then rebuilt and overwritten); {@code states} is 0 when no [CLS] vectors are kept,
     * {@code heads} 0 when no attention scores are.
     */
    private static TeacherCache read(Path file, byte[] key, int n, int outputs, int states, int hidden,
            int[] layers, int[] tokens, int heads, int[] scoreLayers) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            FloatFile in = new FloatFile(ch);
            byte[] head = in.bytes(MAGIC.length + key.length);
            byte[] expected = new byte[head.length];
            System.arraycopy(MAGIC, 0, expected, 0, MAGIC.length);
            System.arraycopy(key, 0, expected, MAGIC.length, key.length);
            int[] shape = {n, outputs, states, hidden, layers.length, heads, scoreLayers.length};
            if (!Arrays.equals(head, expected) || !Arrays.equals(in.ints(shape.length), shape)
                    || !Arrays.equals(in.ints(layers.length), layers)
                    || !Arrays.equals(in.ints(scoreLayers.length), scoreLayers) || !Arrays.equals(in.ints(n), tokens)) {
                System.err.printf("teacher cache %s does not match this run (another format): building it again%n",
                        file);
                return null;
            }
            float[][] logits = outputs > 0 ? new float[n][] : null;
            float[][] cls = states > 0 ? new float[n][] : null;
            float[][] tokenStates = layers.length > 0 ? new float[n][] : null;
            float[][] scores = scoreLayers.length > 0 ? new float[n][] : null;
            for (int i = 0; i < n; i++) {
                if (logits != null) {
                    logits[i] = in.floats(outputs);
                }
                if (cls != null) {
                    cls[i] = in.floats(states * hidden);
                }
                if (tokenStates != null) {
                    tokenStates[i] = in.floats(layers.length * tokens[i] * hidden);
                }
                if (scores != null) {
                    scores[i] = in.floats(scoreLayers.length * heads * tokens[i] * tokens[i]);
                }
            }
            int computed = in.checksum();
            if (in.ints(1)[0] != computed) {
                System.err.printf("teacher cache %s is damaged (its checksum does not match its contents): "
                        + "building it again%n", file);
                return null;
            }
            if (ch.position() - in.buffered() != ch.size()) {
                System.err.printf("teacher cache %s is longer than its header says: building it again%n", file);
                return null;
            }
            return new TeacherCache(outputs, states, hidden, layers, tokens, logits, cls, tokenStates, heads,
                    scoreLayers, scores);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            System.err.printf("teacher cache %s cannot be read (%s): building it again%n", file, e.getMessage());
            return null;
        }
    }

    /**
     * Writes the cache to {@code file} through a temporary file and a rename, so that a crash leaves
     * no half-written cache under the final name. A failure to write costs the next run a teacher pass, not this
     * run: it is reported and training goes on.
     */
    private void write(Path file, byte[] key) {
        try {
            AtomicFile.write(file, tmp -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    FloatFile out = new FloatFile(ch);
                    out.put(MAGIC);
                    out.put(key);
                    int n = tokens.length;
                    out.put(new int[] {n, outputs, cls != null ? states : 0, hidden, layers.length, heads,
                        scoreLayers.length});
                    out.put(layers);
                    out.put(scoreLayers);
                    out.put(tokens);
                    for (int i = 0; i < n; i++) {
                        if (logits != null) {
                            out.put(logits[i]);
                        }
                        if (cls != null) {
                            out.put(cls[i]);
                        }
                        if (tokenStates != null) {
                            out.put(tokenStates[i]);
                        }
                        if (scores != null) {
                            out.put(scores[i]);
                        }
                    }
                    out.put(new int[] {out.checksum()});
                    out.flush();
                }
            });
            System.err.printf("teacher outputs kept in %s (%.0f MB) for later runs%n", file, Files.size(file) / 1e6);
        } catch (IOException e) {
            System.err.printf("warning: teacher outputs not kept in %s (%s): a later run will compute them again%n",
                    file, e.getMessage());
        }
    }


    /**
     * The cached answers for the examples {@code idx}, padded to {@code seq} tokens, as a stage's
     * terms read them; made in {@code m}. Only what {@code request} asks for is made.
     */
    TeacherOutputs outputs(NDManager m, int[] idx, int seq, TeacherRequest request) {
        NDArray l = request.logits() ? logits(m, idx) : null;
        List<NDArray> c = request.cls().isEmpty() ? null : cls(m, idx);
        Map<Integer, NDArray> h = request.hidden().isEmpty() ? null : hidden(m, idx, seq);
        Map<Integer, NDArray> a = request.attentionScores().isEmpty() ? null : scores(m, idx, seq);
        return new CachedTeacher(request, l, c, h, a);
    }


    /** The task logits of examples {@code idx}, [batch, outputs], made in {@code m}. */
    NDArray logits(NDManager m, int[] idx) {
        float[] flat = new float[idx.length * outputs];
        for (int j = 0; j < idx.length; j++) {
            System.arraycopy(logits[idx[j]], 0, flat, j * outputs, outputs);
        }
        return m.create(flat, new Shape(idx.length, outputs));
    }

    /** The [CLS] vectors of examples {@code idx}: one [batch, hidden] array per state (0 = embeddings). */
    List<NDArray> cls(NDManager m, int[] idx) {
        List<NDArray> out = new ArrayList<>(states);
        for (int l = 0; l < states; l++) {
            float[] flat = new float[idx.length * hidden];
            for (int j = 0; j < idx.length; j++) {
                System.arraycopy(cls[idx[j]], l * hidden, flat, j * hidden, hidden);
            }
            out.add(m.create(flat, new Shape(idx.length, hidden)));
        }
        return out;
    }

    /**
     * The kept token states of examples {@code idx} padded with zeros to the batch's length {@code seq}:
     * one [batch, seq, hidden] array per kept layer.
     */
    Map<Integer, NDArray> hidden(NDManager m, int[] idx, int seq) {
        Map<Integer, NDArray> out = new LinkedHashMap<>();
        for (int k = 0; k < layers.length; k++) {
            float[] flat = new float[idx.length * seq * hidden];
            for (int j = 0; j < idx.length; j++) {
                int t = tokens(idx[j], seq);
                System.arraycopy(tokenStates[idx[j]], k * t * hidden, flat, j * seq * hidden, t * hidden);
            }
            out.put(layers[k], m.create(flat, new Shape(idx.length, seq, hidden)));
        }
        return out;
    }

    /**
     * The kept attention scores of examples {@code idx} padded with zeros to the batch's length
     * {@code seq}: one [batch, heads, seq, seq] array per kept layer. The attention terms count only
     * cells whose query and key are both real tokens, so the zeros are never compared.
     */
    Map<Integer, NDArray> scores(NDManager m, int[] idx, int seq) {
        Map<Integer, NDArray> out = new LinkedHashMap<>();
        for (int k = 0; k < scoreLayers.length; k++) {
            float[] flat = new float[idx.length * heads * seq * seq];
            for (int j = 0; j < idx.length; j++) {
                int t = tokens(idx[j], seq);
                copyBlocks(scores[idx[j]], k * heads * t * t, t, flat, j * heads * seq * seq, seq, heads, t);
            }
            out.put(scoreLayers[k], m.create(flat, new Shape(idx.length, heads, seq, seq)));
        }
        return out;
    }

    /** Example {@code i}'s real tokens, which its batch of {@code seq} positions must hold. */
    private int tokens(int i, int seq) {
        int t = tokens[i];
        if (t > seq) {
            throw new IllegalStateException("example " + i + " had " + t + " tokens when the teacher's outputs were "
                    + "cached but its batch is " + seq + " long: the tokenizer changed mid-run");
        }
        return t;
    }

    /**
     * Copies the top-left [t × t] block of each of {@code heads} square maps, from maps of side
     * {@code fromSide} at {@code from} to maps of side {@code toSide} at {@code to}: attention scores
     * cut to their real queries and keys, or padded back to a batch's length.
     */
    private static void copyBlocks(float[] src, int from, int fromSide, float[] dst, int to, int toSide, int heads,
            int t) {
        for (int h = 0; h < heads; h++) {
            for (int q = 0; q < t; q++) {
                System.arraycopy(src, from + (h * fromSide + q) * fromSide, dst, to + (h * toSide + q) * toSide, t);
            }
        }
    }
}
