package org.distill4j.fault;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * Seeded damage to a valid file: the byte-level mutations of classic mutation fuzzers (bit flips,
 * boundary values written over length fields, truncation, deleted, repeated or inserted ranges)
 * and, for text formats, line- and token-level edits that keep the file mostly well-formed so that
 * the reader's later stages are reached too. A case is reproducible from (seed, case number).
 */
final class Mutator {

    private static final long[] BOUNDARY = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 0xffffffffL, Long.MAX_VALUE, 1L << 32, 1L << 40};
    private static final String[] TOKENS = {"", "-1", "0", "1e400", "-0", "NaN", "null", "~", "true", "[", "]",
            "{", "}", "\"", "'", ":", ": ", "\t", "\n", "- ", "&a", "*a", "!!binary", "!!float", "<<: *a",
            "99999999999999999999", "2147483648", "\u0000", "\uFEFF", "\u00e9", "\ud83d\ude00", "---", "...", "#",
            "[[[[[[[[[[", "{a: {b: {c: {d:", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "[1,-1]", "[]"};

    private final Random random;

    Mutator(long seed, int caseNumber) {
        this.random = new Random(seed * 1_000_003L + caseNumber);
    }

    /** One to three mutations of {@code in}; {@code text} adds line and token edits. */
    Result mutate(byte[] in, boolean text) {
        byte[] out = in;
        StringBuilder how = new StringBuilder();
        int n = 1 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            int kind = random.nextInt(text ? 10 : 7);
            if (how.length() > 0) {
                how.append(", ");
            }
            out = switch (kind) {
                case 0 -> flipBits(out, how);
                case 1 -> boundary(out, how);
                case 2 -> truncate(out, how);
                case 3 -> deleteRange(out, how);
                case 4 -> repeatRange(out, how);
                case 5 -> insertRandom(out, how);
                case 6 -> copyRange(out, how);
                case 7 -> insertToken(out, how);
                case 8 -> replaceToken(out, how);
                default -> shuffleLines(out, how);
            };
        }
        return new Result(out, how.toString());
    }

    record Result(byte[] bytes, String description) {}

    private int pos(byte[] b) {
        return b.length == 0 ? 0 : random.nextInt(b.length);
    }

    private byte[] flipBits(byte[] b, StringBuilder how) {
        byte[] out = b.clone();
        int flips = 1 + random.nextInt(8);
        for (int i = 0; i < flips && out.length > 0; i++) {
            int p = pos(out);
            out[p] ^= (byte) (1 << random.nextInt(8));
        }
        how.append("flip ").append(flips).append(" bits");
        return out;
    }

    /** A boundary value written little-endian over 1, 2, 4 or 8 bytes: where lengths and offsets live. */
    private byte[] boundary(byte[] b, StringBuilder how) {
        byte[] out = b.clone();
        long v = BOUNDARY[random.nextInt(BOUNDARY.length)];
        int width = 1 << random.nextInt(4);
        // Binary headers keep their lengths near the start: aim there half of the time.
        int p = random.nextBoolean() ? random.nextInt(Math.max(1, Math.min(out.length, 64))) : pos(out);
        for (int i = 0; i < width && p + i < out.length; i++) {
            out[p + i] = (byte) (v >>> (8 * i));
        }
        how.append("write ").append(v).append(" as ").append(width).append(" bytes at ").append(p);
        return out;
    }

    private byte[] truncate(byte[] b, StringBuilder how) {
        int p = pos(b);
        how.append("truncate to ").append(p);
        return Arrays.copyOf(b, p);
    }

    private byte[] deleteRange(byte[] b, StringBuilder how) {
        int p = pos(b);
        int len = Math.min(b.length - p, 1 + random.nextInt(64));
        byte[] out = new byte[b.length - len];
        System.arraycopy(b, 0, out, 0, p);
        System.arraycopy(b, p + len, out, p, b.length - p - len);
        how.append("delete ").append(len).append(" at ").append(p);
        return out;
    }

    private byte[] repeatRange(byte[] b, StringBuilder how) {
        int p = pos(b);
        int len = Math.min(b.length - p, 1 + random.nextInt(256));
        byte[] out = new byte[b.length + len];
        System.arraycopy(b, 0, out, 0, p + len);
        System.arraycopy(b, p, out, p + len, b.length - p);
        how.append("repeat ").append(len).append(" at ").append(p);
        return out;
    }

    private byte[] insertRandom(byte[] b, StringBuilder how) {
        int p = pos(b);
        byte[] junk = new byte[1 + random.nextInt(32)];
        random.nextBytes(junk);
        how.append("insert ").append(junk.length).append(" random bytes at ").append(p);
        return splice(b, p, 0, junk);
    }

    private byte[] copyRange(byte[] b, StringBuilder how) {
        if (b.length < 2) {
            return b;
        }
        int from = pos(b);
        int to = pos(b);
        int len = Math.min(Math.min(b.length - from, b.length - to), 1 + random.nextInt(128));
        byte[] out = b.clone();
        System.arraycopy(b, from, out, to, len);
        how.append("copy ").append(len).append(" from ").append(from).append(" to ").append(to);
        return out;
    }

    private byte[] insertToken(byte[] b, StringBuilder how) {
        String t = TOKENS[random.nextInt(TOKENS.length)];
        int p = pos(b);
        how.append("insert '").append(printable(t)).append("' at ").append(p);
        return splice(b, p, 0, t.getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces the word (run of letters, digits, dots, minus signs) at a random place with a token. */
    private byte[] replaceToken(byte[] b, StringBuilder how) {
        int p = pos(b);
        int start = p;
        while (start > 0 && wordByte(b[start - 1])) {
            start--;
        }
        int end = p;
        while (end < b.length && wordByte(b[end])) {
            end++;
        }
        String t = TOKENS[random.nextInt(TOKENS.length)];
        how.append("replace ").append(end - start).append(" bytes at ").append(start).append(" with '")
                .append(printable(t)).append("'");
        return splice(b, start, end - start, t.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] shuffleLines(byte[] b, StringBuilder how) {
        String[] lines = new String(b, StandardCharsets.UTF_8).split("\n", -1);
        if (lines.length < 2) {
            return b;
        }
        int i = random.nextInt(lines.length);
        int j = random.nextInt(lines.length);
        if (random.nextBoolean()) {
            String t = lines[i];
            lines[i] = lines[j];
            lines[j] = t;
            how.append("swap lines ").append(i + 1).append(" and ").append(j + 1);
        } else {
            lines[i] = lines[j];
            how.append("line ").append(i + 1).append(" := line ").append(j + 1);
        }
        return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
    }

    private static boolean wordByte(byte c) {
        return Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_';
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    private static String printable(String s) {
        return s.replace("\n", "\\n").replace("\t", "\\t").replace("\u0000", "\\0");
    }
}
