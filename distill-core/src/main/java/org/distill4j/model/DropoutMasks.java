package org.distill4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.norm.Dropout;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Dropout whose Bernoulli masks are drawn in Java, on the CPU, from a seeded stream.
 *
 * <p>libtorch's CPU {@code bernoulli_} draws one element at a time on one thread (its vectorized
 * path is taken on Intel processors only), while the other cores wait: on a 2-core AMD machine the
 * masks of a 6-layer student at batch 32 × 128 took about a tenth of a distillation step. Here they
 * are drawn from {@link SplittableRandom}s, in chunks on all cores, and handed to libtorch as bytes.
 *
 * <p>Masks come from the stream that {@link #seeded} installs on the calling thread for the length
 * of a forward pass: the same seed gives the same masks, so a resumed training replays its steps.
 * Without one, and on accelerators (whose dropout is one fused kernel), libtorch's dropout is used.
 */
public final class DropoutMasks implements AutoCloseable {

    private static final ThreadLocal<DropoutMasks> CURRENT = new ThreadLocal<>();

    /** Where a thread's masks are drawn, grown as needed and kept: a step draws several of the same sizes. */
    private static final ThreadLocal<ByteBuffer> BYTES = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(0));

    /** Elements drawn by one task: masks are the same whatever the number of threads. */
    private static final int CHUNK = 1 << 18;

    /**
     * {@code -Ddistill4j.dropout=torch} leaves every mask to libtorch's dropout: a setting of the
     * non-finite-gradient harness (masks then depend on libtorch's generator, not on {@link #seeded}).
     */
    private static final boolean JAVA_MASKS = !"torch".equals(System.getProperty("distill4j.dropout"));

    private final SplittableRandom stream;
    private final DropoutMasks outer;

    private DropoutMasks(long seed, DropoutMasks outer) {
        this.stream = new SplittableRandom(seed);
        this.outer = outer;
    }

    /** Draws the masks of this thread's dropout from {@code seed} until {@link #close}. */
    public static DropoutMasks seeded(long seed) {
        DropoutMasks masks = new DropoutMasks(seed, CURRENT.get());
        CURRENT.set(masks);
        return masks;
    }

    /** Restores what was installed before. */
    @Override
    public void close() {
        if (outer == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(outer);
        }
    }

    /**
     * Inverted dropout: each element zeroed with probability {@code p}, the others scaled by
     * {@code 1 / (1 - p)}; {@code x} itself when not training.
     */
    public static NDArray dropout(NDArray x, float p, boolean training) {
        DropoutMasks masks = CURRENT.get();
        if (!training || p <= 0f || masks == null || !JAVA_MASKS
                || !Device.Type.CPU.equals(x.getDevice().getDeviceType())) {
            return Dropout.dropout(x, p, training).singletonOrThrow();
        }
        if (p >= 1f) {
            return x.zerosLike();
        }
        try (NDArray keep = masks.keepMask(x, p)) {
            NDArray noise = keep.toType(x.getDataType(), false);
            noise.muli(1f / (1f - p));
            NDArray out = x.mul(noise);
            noise.close();
            return out;
        }
    }

    /** A uint8 tensor shaped as {@code x}: 1 where an element is kept (probability {@code 1 - p}). */
    private NDArray keepMask(NDArray x, float p) {
        long size = x.size();
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("dropout over " + size + " elements at once: at most 2^31 - 1");
        }
        int n = (int) size;
        ByteBuffer out = bytes(n);
        // An element is dropped when a uniform 32-bit draw falls below p·2^32.
        long threshold = (long) Math.ceil(p * 4294967296.0);
        int chunks = (n + CHUNK - 1) / CHUNK;
        // Split off in order, each chunk its own generator (own seed and own increment): seeds a
        // fixed distance apart would give one sequence shifted by a few draws from chunk to chunk.
        SplittableRandom[] rngs = new SplittableRandom[chunks];
        for (int c = 0; c < chunks; c++) {
            rngs[c] = stream.split();
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom r = rngs[c];
            int from = c * CHUNK;
            int len = Math.min(n, from + CHUNK) - from;
            ByteBuffer part = out.slice(from, len);
            int i = 0;
            for (; i + 1 < len; i += 2) {
                long bits = r.nextLong();
                part.put(i, (bits >>> 32) < threshold ? (byte) 0 : (byte) 1);
                part.put(i + 1, (bits & 0xFFFFFFFFL) < threshold ? (byte) 0 : (byte) 1);
            }
            if (i < len) {
                part.put(i, (r.nextLong() >>> 32) < threshold ? (byte) 0 : (byte) 1);
            }
        });
        // The tensor reads the buffer in place: it is copied (toType) before the buffer is reused.
        return x.getManager().create(out.slice(0, n), x.getShape(), DataType.UINT8);
    }

    /** This thread's buffer, grown to hold at least {@code n} bytes. */
    private static ByteBuffer bytes(int n) {
        ByteBuffer b = BYTES.get();
        if (b.capacity() < n) {
            b = ByteBuffer.allocateDirect(Math.max(n, b.capacity() * 2));
            BYTES.set(b);
        }
        return b;
    }
}
