package org.distill4j.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Little-endian ints and floats through a 4 MB buffer: the cache is up to gigabytes. A CRC-32C of
 * every value written or read so far ({@link #checksum}) lets a file end with a check of its body.
 */
final class FloatFile {
    private final FileChannel ch;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
    private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();

    FloatFile(FileChannel ch) {
        this.ch = ch;
        buf.limit(0); // empty, for reading
    }

    void put(byte[] b) throws IOException {
        room(b.length);
        buf.put(b);
        crc.update(b);
    }

    void put(int[] a) throws IOException {
        for (int off = 0; off < a.length; ) {
            room(4);
            int k = Math.min(buf.remaining() / 4, a.length - off);
            buf.asIntBuffer().put(a, off, k);
            digest(4 * k);
            buf.position(buf.position() + 4 * k);
            off += k;
        }
    }

    void put(float[] a) throws IOException {
        for (int off = 0; off < a.length; ) {
            room(4);
            int k = Math.min(buf.remaining() / 4, a.length - off);
            buf.asFloatBuffer().put(a, off, k);
            digest(4 * k);
            buf.position(buf.position() + 4 * k);
            off += k;
        }
    }

    /** Writes what is buffered when fewer than {@code bytes} are free (the buffer is in write mode). */
    private void room(int bytes) throws IOException {
        if (buf.limit() == 0) {
            buf.clear(); // the first write
        }
        if (buf.remaining() < bytes) {
            flush();
            buf.clear();
        }
    }

    void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    byte[] bytes(int n) throws IOException {
        fill(n);
        byte[] b = new byte[n];
        buf.get(b);
        crc.update(b);
        return b;
    }

    int[] ints(int n) throws IOException {
        int[] a = new int[n];
        for (int off = 0; off < n; ) {
            fill(4);
            int k = Math.min(buf.remaining() / 4, n - off);
            buf.asIntBuffer().get(a, off, k);
            digest(4 * k);
            buf.position(buf.position() + 4 * k);
            off += k;
        }
        return a;
    }

    float[] floats(int n) throws IOException {
        float[] a = new float[n];
        for (int off = 0; off < n; ) {
            fill(4);
            int k = Math.min(buf.remaining() / 4, n - off);
            buf.asFloatBuffer().get(a, off, k);
            digest(4 * k);
            buf.position(buf.position() + 4 * k);
            off += k;
        }
        return a;
    }

    /** The CRC-32C of every value put or read so far. */
    int checksum() {
        return (int) crc.getValue();
    }

    /** Adds the next {@code bytes} of the buffer, from its position, to the checksum. */
    private void digest(int bytes) {
        ByteBuffer d = buf.duplicate();
        d.limit(d.position() + bytes);
        crc.update(d);
    }

    /** Bytes read from the file but not yet consumed. */
    long buffered() {
        return buf.remaining();
    }

    /** Reads until at least {@code bytes} are buffered (the buffer is in read mode). */
    private void fill(int bytes) throws IOException {
        while (buf.remaining() < bytes) {
            buf.compact();
            int r = ch.read(buf);
            buf.flip();
            if (r < 0) {
                throw new IOException("it ends early (truncated)");
            }
        }
    }
}
