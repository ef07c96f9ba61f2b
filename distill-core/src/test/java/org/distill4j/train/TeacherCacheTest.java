package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.distill4j.GlueSample;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The teacher cache kept on disk: the real MiniLM teacher over 70 MRPC pairs, with logits, [CLS]
 * states and one layer's token states kept.
 */
class TeacherCacheTest {

    private static final int N = 70;

    private static NDManager root;
    private static BertModel teacher;
    private static BertTokenizer tok;
    private static Examples data;
    private static int[] lengths;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        Engine.getInstance().setRandomSeed(3); // the task head
        root = NDManager.newBaseManager();
        teacher = ckpt.toModel(root, new BertModel.Heads(false, false, 2));
        tok = ckpt.tokenizer(64);
        List<GlueSample.Text> texts = GlueSample.dev("MRPC", 3, 4, N);
        data = new Examples(texts.stream().map(GlueSample.Text::first).toList(),
                texts.stream().map(GlueSample.Text::second).toList(), new float[N]);
        lengths = new int[N];
        for (int i = 0; i < N; i++) {
            lengths[i] = data.length(i);
        }
    }

    @AfterAll
    static void close() {
        tok.close();
        teacher.close();
        root.close();
    }

    private static TeacherCache build(Path store) {
        return TeacherCache.build(teacher, new ParameterStore(root, false), tok, data, lengths, true, true,
                Set.of(6), Set.of(), Long.MAX_VALUE, store, Precision.FP32, root);
    }

    private static TeacherCache buildWithScores(Path store, long budget) {
        return TeacherCache.build(teacher, new ParameterStore(root, false), tok, data, lengths, true, false,
                Set.of(), Set.of(2, 6), budget, store, Precision.FP32, root);
    }

    /** Every value the cache holds, example by example, flattened. */
    private static List<float[]> contents(TeacherCache c) {
        List<float[]> out = new ArrayList<>();
        try (NDManager m = root.newSubManager()) {
            for (int i = 0; i < N; i++) {
                int[] idx = {i};
                out.add(c.logits(m, idx).toFloatArray());
                c.cls(m, idx).forEach(a -> out.add(a.toFloatArray()));
                out.add(c.hidden(m, idx, 64).get(6).toFloatArray());
            }
        }
        return out;
    }

    private static List<Path> files(Path store) throws IOException {
        try (Stream<Path> s = Files.list(store)) {
            return s.sorted().toList();
        }
    }

    @Test
    void aSecondRunReadsTheFileBitForBit() throws IOException {
        Path store = tmp.resolve("store");
        List<float[]> first = contents(build(store));
        List<Path> kept = files(store);
        assertEquals(1, kept.size(), "one cache file, no temporary one left: " + kept);
        List<float[]> second = contents(build(store));
        for (int i = 0; i < first.size(); i++) {
            assertArrayEquals(first.get(i), second.get(i), "value set " + i);
        }
        // The same as without a store: the file changes nothing but where the values come from.
        List<float[]> memory = contents(build(null));
        for (int i = 0; i < first.size(); i++) {
            assertArrayEquals(memory.get(i), first.get(i), "value set " + i);
        }
    }

    @Test
    void theValuesComeFromTheFileNotFromTheTeacher() throws IOException {
        Path store = tmp.resolve("store");
        build(store);
        Path file = files(store).get(0);
        // The file ends with the last example's token states (its last float is the last token's last
        // dimension), then the CRC-32C of all before it, which is written anew to match.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 12345f), ch.size() - 8);
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, crcOfBody(file)), ch.size() - 4);
        }
        TeacherCache read = build(store);
        int tokens = tok.batch(List.of(data.first().get(N - 1)), List.of(data.second().get(N - 1))).length(0);
        try (NDManager m = root.newSubManager()) {
            NDArray h = read.hidden(m, new int[] {N - 1}, 64).get(6);
            assertEquals(12345f, h.getFloat(0, tokens - 1, teacher.config().hiddenSize() - 1));
        }
    }

    private static int crcOfBody(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, 0, b.length - 4);
        return (int) crc.getValue();
    }

    /**
     * TinyBERT's attention term reads the teacher's pre-softmax scores: kept per example as each
     * head's block of real queries and keys, they are the teacher's own scores for that example
     * alone (to the last bits, which another batch's padding may change), zero wherever a query or
     * key is padding, and read back from the file bit for bit.
     */
    @Test
    void attentionScoresAreKeptForRealTokensOnlyAndReadBackBitForBit() throws IOException {
        Path store = tmp.resolve("store");
        TeacherCache built = buildWithScores(store, Long.MAX_VALUE);
        int heads = teacher.config().numAttentionHeads();
        int[] layers = {2, 6};
        try (NDManager m = root.newSubManager()) {
            for (int i : new int[] {0, 17, N - 1}) {
                TokenBatch alone = tok.batch(List.of(data.first().get(i)), List.of(data.second().get(i)));
                int t = alone.length(0);
                float[] own = TeacherCache.forward(teacher, new ParameterStore(root, false), alone, false, false,
                        new int[0], layers, m).scores()[0];
                int seq = t + 5;
                var cached = built.scores(m, new int[] {i}, seq);
                for (int k = 0; k < layers.length; k++) {
                    float[] padded = cached.get(layers[k]).toFloatArray();
                    for (int h = 0; h < heads; h++) {
                        for (int q = 0; q < seq; q++) {
                            for (int key = 0; key < seq; key++) {
                                float v = padded[(h * seq + q) * seq + key];
                                if (q < t && key < t) {
                                    float want = own[((k * heads + h) * t + q) * t + key];
                                    assertEquals(want, v, 1e-4f + 1e-5f * Math.abs(want),
                                            "example " + i + " layer " + layers[k] + " head " + h);
                                } else {
                                    assertEquals(0f, v, "padding cell " + q + "," + key + " of example " + i);
                                }
                            }
                        }
                    }
                }
            }
            TeacherCache read = buildWithScores(store, Long.MAX_VALUE);
            int[] all = new int[N];
            Arrays.setAll(all, j -> j);
            for (int layer : layers) {
                assertArrayEquals(built.scores(m, all, 64).get(layer).toFloatArray(),
                        read.scores(m, all, 64).get(layer).toFloatArray(), "layer " + layer);
            }
        }
        assertEquals(1, files(store).size());
        // 70 pairs × 2 layers × 12 heads × tokens² take about 20 MB: a smaller budget keeps nothing.
        assertNull(buildWithScores(tmp.resolve("small"), 5_000_000));
    }

    /** A flipped bit inside the teacher's values (a bad disk, a bad copy) is caught by the checksum. */
    @Test
    void aFlippedBitIsCaughtAndTheFileBuiltAgain() throws IOException {
        Path store = tmp.resolve("store");
        List<float[]> first = contents(build(store));
        Path file = files(store).get(0);
        byte[] clean = Files.readAllBytes(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = ch.size() / 2;
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (one.get(0) ^ 0x10)}), at);
        }
        List<float[]> again = contents(build(store));
        for (int i = 0; i < first.size(); i++) {
            assertArrayEquals(first.get(i), again.get(i), "value set " + i);
        }
        assertArrayEquals(clean, Files.readAllBytes(file), "the damaged file was written again, whole");
    }

    @Test
    void aTruncatedFileIsBuiltAgain() throws IOException {
        Path store = tmp.resolve("store");
        List<float[]> first = contents(build(store));
        Path file = files(store).get(0);
        long size = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size / 2); // a disk that filled up, a copy cut short
        }
        List<float[]> again = contents(build(store));
        for (int i = 0; i < first.size(); i++) {
            assertArrayEquals(first.get(i), again.get(i), "value set " + i);
        }
        assertEquals(size, Files.size(file), "the file is whole again");
    }

    @Test
    void anotherTeacherGetsAnotherFile() throws IOException {
        Path store = tmp.resolve("store");
        float[] before = contents(build(store)).get(0); // the first example's logits
        NDArray w = teacher.namedParameters().get("classifier.weight").getArray();
        float was = w.getFloat(0, 0);
        try {
            w.set(new NDIndex("0, 0"), was + 1f); // as a teacher fine-tuned once more in the same directory
            float[] after = contents(build(store)).get(0);
            List<Path> kept = files(store);
            assertEquals(2, kept.size(), "a teacher with other weights must not read the first one's file: " + kept);
            assertFalse(Arrays.equals(before, after), "the changed head changes the logits");
            assertArrayEquals(contents(build(null)).get(0), after);
        } finally {
            w.set(new NDIndex("0, 0"), was);
        }
    }
}
