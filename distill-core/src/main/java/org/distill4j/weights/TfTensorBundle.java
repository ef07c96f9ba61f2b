package org.distill4j.weights;

import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.weights.proto.TensorBundleProto.BundleEntryProto;
import org.distill4j.weights.proto.TensorBundleProto.BundleHeaderProto;

/**
 * Reads a TensorFlow checkpoint ("tensor bundle") without TensorFlow. {@code variables.index} is a
 * LevelDB-format sorted table (footer with block handles, prefix-compressed blocks, restart
 * arrays) mapping each variable name to a {@code BundleEntryProto} (dtype, shape, byte offset and
 * size in the data shard); the empty key holds a {@code BundleHeaderProto}. The data shard is
 * raw little-endian tensors.
 */
public final class TfTensorBundle {

    private static final long TABLE_MAGIC = 0xdb4775248b80fb57L;
    private static final int FOOTER_LENGTH = 48;
    private static final int BLOCK_TRAILER = 5; // compression type byte + crc32c
    private static final int DT_FLOAT = 1;

    private TfTensorBundle() {}

    /**
     * @param index the bytes of {@code variables.index}
     * @param data the bytes of the single data shard {@code variables.data-00000-of-00001}
     * @param source a name for error messages
     * @return every float tensor by its TensorFlow name, in the table's (sorted) order
     */
    public static Map<String, Tensor> read(byte[] index, byte[] data, String source) {
        Map<String, byte[]> table = readTable(index, source);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : table.entrySet()) {
            try {
                if (e.getKey().isEmpty()) {
                    BundleHeaderProto h = BundleHeaderProto.parseFrom(e.getValue());
                    if (h.getNumShards() != 1 || h.getEndianness() != BundleHeaderProto.Endianness.LITTLE) {
                        throw new DistillException(source + ": only single-shard little-endian bundles are supported "
                                + "(this one has " + h.getNumShards() + " shards, " + h.getEndianness() + ")");
                    }
                    continue;
                }
                BundleEntryProto entry = BundleEntryProto.parseFrom(e.getValue());
                if (entry.getDtype() != DT_FLOAT) {
                    continue; // e.g. global_step (int64): not a weight
                }
                long[] shape = entry.getShape().getDimList().stream().mapToLong(d -> d.getSize()).toArray();
                long n = Tensor.elements(shape);
                if (n < 0 || entry.getOffset() < 0 || entry.getSize() != n * 4
                        || entry.getOffset() + entry.getSize() > data.length) {
                    throw new DistillException(source + ": variable '" + e.getKey() + "' claims bytes ["
                            + entry.getOffset() + ", +" + entry.getSize() + ") for shape " + Arrays.toString(shape)
                            + " but the data shard has " + data.length + " bytes");
                }
                float[] values = new float[(int) n];
                ByteBuffer.wrap(data, (int) entry.getOffset(), (int) entry.getSize()).order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer().get(values);
                out.put(e.getKey(), new Tensor(shape, values));
            } catch (InvalidProtocolBufferException ex) {
                throw new DistillException(source + ": entry '" + e.getKey() + "' is not a BundleEntryProto", ex);
            }
        }
        return out;
    }

    /** All key/value pairs of a LevelDB table held in memory. */
    static Map<String, byte[]> readTable(byte[] file, String source) {
        try {
            return readTableUnchecked(file, source);
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            // Lengths and handles inside the table point past what is there: a truncated or damaged file.
            throw new DistillException(source + ": variables.index is damaged (a block or entry runs past its end)", e);
        }
    }

    private static Map<String, byte[]> readTableUnchecked(byte[] file, String source) {
        if (file.length < FOOTER_LENGTH) {
            throw new DistillException(source + ": variables.index is too short to be a table (" + file.length + " bytes)");
        }
        ByteBuffer footer = ByteBuffer.wrap(file, file.length - FOOTER_LENGTH, FOOTER_LENGTH)
                .order(ByteOrder.LITTLE_ENDIAN);
        long magic = ByteBuffer.wrap(file, file.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (magic != TABLE_MAGIC) {
            throw new DistillException(source + ": variables.index does not end with the table magic number; "
                    + "not a TensorFlow checkpoint index");
        }
        readVarint(footer, source); // metaindex offset (unused)
        readVarint(footer, source); // metaindex size
        long indexOffset = readVarint(footer, source);
        long indexSize = readVarint(footer, source);
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (byte[] handle : readBlock(file, indexOffset, indexSize, source).values()) {
            ByteBuffer h = ByteBuffer.wrap(handle);
            long offset = readVarint(h, source);
            long size = readVarint(h, source);
            out.putAll(readBlock(file, offset, size, source));
        }
        return out;
    }

    private static Map<String, byte[]> readBlock(byte[] file, long offset, long size, String source) {
        if (offset < 0 || size < 4 || offset + size + BLOCK_TRAILER > file.length) {
            throw new DistillException(source + ": block [" + offset + ", +" + size
                    + ") does not fit in variables.index (" + file.length + " bytes)");
        }
        int compression = file[(int) (offset + size)];
        if (compression != 0) {
            throw new DistillException(source + ": table block is compressed (type " + compression
                    + "); TensorFlow bundles are written uncompressed");
        }
        ByteBuffer b = ByteBuffer.wrap(file, (int) offset, (int) size).slice().order(ByteOrder.LITTLE_ENDIAN);
        int restarts = b.getInt((int) size - 4);
        if (restarts < 0 || restarts > (size - 4) / 4) {
            throw new DistillException(source + ": block at " + offset + " of variables.index claims " + restarts
                    + " restart points; it has room for at most " + (size - 4) / 4);
        }
        int end = (int) size - 4 * (restarts + 1);
        Map<String, byte[]> out = new LinkedHashMap<>();
        byte[] key = new byte[0];
        while (b.position() < end) {
            long shared = readVarint(b, source);
            long unshared = readVarint(b, source);
            long valueLength = readVarint(b, source);
            if (shared > key.length || unshared < 0 || valueLength < 0 || unshared + valueLength > end - b.position()) {
                throw new DistillException(source + ": a key in the block at " + offset + " of variables.index shares "
                        + shared + " bytes with the previous key (" + key.length + " long) and claims "
                        + unshared + " + " + valueLength + " more bytes; " + (end - b.position()) + " remain");
            }
            byte[] next = Arrays.copyOf(key, (int) (shared + unshared));
            b.get(next, (int) shared, (int) unshared);
            byte[] value = new byte[(int) valueLength];
            b.get(value);
            key = next;
            out.put(new String(key, java.nio.charset.StandardCharsets.UTF_8), value);
        }
        return out;
    }

    private static long readVarint(ByteBuffer b, String source) {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte x = b.get();
            result |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return result;
            }
        }
        throw new DistillException(source + ": malformed varint in variables.index");
    }
}
