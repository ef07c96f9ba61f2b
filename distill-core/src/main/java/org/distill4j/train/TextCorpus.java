package org.distill4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;

/**
 * Unlabelled text for general distillation: a UTF-8 file with one sentence or paragraph per
 * line, blank lines skipped. A line {@code A<TAB>B} is a sentence pair, read as BERT reads one
 * (B as the second segment): without pairs a student never learns the second segment's
 * embedding, which every pair task uses ({@link #segments}). The text stays on disk: opening the
 * file makes one streaming pass that records where each line starts and how long it is (12 bytes
 * a line: a 100-million-line corpus costs 1.2 GB of index, none of text), and each batch reads its
 * own lines back with positional reads, which are safe from the prefetching thread.
 */
public final class TextCorpus implements TrainingData, AutoCloseable {

    private static final int READ_BUFFER = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final long[] offsets;
    private final int[] lengths;
    private final boolean owner;

    private TextCorpus(Path file, FileChannel channel, long[] offsets, int[] lengths, boolean owner) {
        this.file = file;
        this.channel = channel;
        this.offsets = offsets;
        this.lengths = lengths;
        this.owner = owner;
    }

    /**
     * Indexes {@code file}'s non-blank lines.
     *
     * @param limit keep the first this many lines (0: all)
     */
    public static TextCorpus open(Path file, int limit) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new DistillException("Cannot read corpus " + file + ": " + e.getMessage()
                    + " (a text file, one sentence or paragraph per line; ./distill glue corpus makes one)", e);
        }
        try {
            long[] offsets = new long[1024];
            int[] lengths = new int[1024];
            int n = 0;
            ByteBuffer buf = ByteBuffer.allocate(READ_BUFFER);
            long pos = 0;
            long lineStart = 0;
            boolean blank = true;
            int read;
            while ((read = ch.read(buf)) >= 0 && (limit == 0 || n < limit)) {
                buf.flip();
                for (int i = 0; i < read && (limit == 0 || n < limit); i++) {
                    byte b = buf.get(i);
                    if (b == '\n') {
                        if (!blank) {
                            if (n == offsets.length) {
                                offsets = Arrays.copyOf(offsets, n * 2);
                                lengths = Arrays.copyOf(lengths, n * 2);
                            }
                            offsets[n] = lineStart;
                            lengths[n] = lineLength(pos + i - lineStart, file, n);
                            n++;
                        }
                        lineStart = pos + i + 1;
                        blank = true;
                    } else if (b != ' ' && b != '\t' && b != '\r') {
                        blank = false;
                    }
                }
                pos += read;
                buf.clear();
            }
            if (!blank && (limit == 0 || n < limit)) { // a last line without a newline
                offsets = Arrays.copyOf(offsets, n + 1);
                lengths = Arrays.copyOf(lengths, n + 1);
                offsets[n] = lineStart;
                lengths[n] = lineLength(pos - lineStart, file, n);
                n++;
            }
            if (n == 0) {
                throw new DistillException("corpus " + file + " has no text: it needs one sentence or paragraph per "
                        + "line");
            }
            return new TextCorpus(file, ch, Arrays.copyOf(offsets, n), Arrays.copyOf(lengths, n), true);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new DistillException("Cannot read corpus " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static int lineLength(long bytes, Path file, int line) {
        if (bytes > 1 << 24) {
            throw new DistillException("corpus " + file + " line " + (line + 1) + " is " + bytes + " bytes long; "
                    + "split paragraphs over 16 MB into lines (only the first max_length tokens are used anyway)");
        }
        return (int) bytes;
    }

    /**
     * The corpus split in two by line: every {@code every}-th line (up to {@code max}) held out to
     * measure the loss on text the student never trains on, the rest for training. Both read
     * through this corpus, which must stay open while they are in use (closing them does nothing).
     */
    public TextCorpus[] holdOut(int every, int max) {
        List<Integer> held = new ArrayList<>();
        List<Integer> kept = new ArrayList<>();
        for (int i = 0; i < size(); i++) {
            if (i % every == every - 1 && held.size() < max) {
                held.add(i);
            } else {
                kept.add(i);
            }
        }
        if (held.isEmpty() || kept.isEmpty()) {
            throw new DistillException("corpus " + file + " has " + size() + " lines: too few to hold out every "
                    + every + "th for evaluation");
        }
        return new TextCorpus[] {subset(kept), subset(held)};
    }

    private TextCorpus subset(List<Integer> lines) {
        long[] o = new long[lines.size()];
        int[] l = new int[lines.size()];
        for (int i = 0; i < o.length; i++) {
            o[i] = offsets[lines.get(i)];
            l[i] = lengths[lines.get(i)];
        }
        return new TextCorpus(file, channel, o, l, false);
    }

    /** The file the lines come from. */
    public Path file() {
        return file;
    }

    @Override
    public int size() {
        return offsets.length;
    }

    @Override
    public int[] lengths() {
        return lengths.clone();
    }

    /** Unlabelled: null. */
    @Override
    public float[] labels(int[] idx) {
        return null;
    }

    /** Line {@code i} (0-based among the non-blank lines), without its line end. */
    public String line(int i) {
        ByteBuffer b = ByteBuffer.allocate(lengths[i]);
        try {
            while (b.hasRemaining()) {
                if (channel.read(b, offsets[i] + b.position()) < 0) {
                    throw new DistillException("corpus " + file + " got shorter while in use (line " + (i + 1) + ")");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read corpus " + file + ": " + e.getMessage(), e);
        }
        String s = new String(b.array(), StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public TokenBatch batch(BertTokenizer tokenizer, int[] idx) {
        List<String> first = new ArrayList<>(idx.length);
        List<String> second = new ArrayList<>(idx.length);
        for (int i : idx) {
            String[] parts = segments(line(i));
            first.add(parts[0]);
            second.add(parts.length > 1 ? parts[1] : null);
        }
        return tokenizer.batch(first, second); // a null second text: that row is one segment
    }

    /**
     * A corpus line's segments: {A, B} for {@code A<TAB>B} with text on both sides of the first
     * tab, else the line as one text. Augmenting a corpus reads its lines the same way.
     */
    public static String[] segments(String line) {
        int tab = line.indexOf('\t');
        if (tab >= 0) {
            String a = line.substring(0, tab);
            String b = line.substring(tab + 1);
            if (!a.isBlank() && !b.isBlank()) {
                return new String[] {a, b};
            }
        }
        return new String[] {line};
    }

    @Override
    public void close() {
        if (owner) {
            closeQuietly(channel);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing was written through it
        }
    }
}
