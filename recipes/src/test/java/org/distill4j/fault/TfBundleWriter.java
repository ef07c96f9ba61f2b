package org.distill4j.fault;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.distill4j.weights.Tensor;
import org.distill4j.weights.proto.TensorBundleProto.BundleEntryProto;
import org.distill4j.weights.proto.TensorBundleProto.BundleHeaderProto;
import org.distill4j.weights.proto.TensorBundleProto.TensorShapeProto;

/**
 * Writes a small single-shard TensorFlow tensor bundle (variables.index as a LevelDB table,
 * one uncompressed data block, plus the data shard), as TensorFlow lays it out: the seed of the
 * TF-bundle fuzz target, which otherwise only has BERT-base's 420 MB shard to read.
 */
final class TfBundleWriter {

    record Bundle(byte[] index, byte[] data) {}

    private TfBundleWriter() {}

    static Bundle write(Map<String, Tensor> tensors) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        TreeMap<String, byte[]> entries = new TreeMap<>();
        entries.put("", BundleHeaderProto.newBuilder().setNumShards(1)
                .setEndianness(BundleHeaderProto.Endianness.LITTLE).build().toByteArray());
        // A non-float variable, as real checkpoints have (global_step): the reader must skip it.
        entries.put("global_step", BundleEntryProto.newBuilder().setDtype(9)
                .setShape(TensorShapeProto.newBuilder()).setOffset(0).setSize(8).build().toByteArray());
        data.writeBytes(new byte[8]);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (long d : e.getValue().shape()) {
                shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
            }
            float[] values = e.getValue().data();
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            entries.put(e.getKey(), BundleEntryProto.newBuilder().setDtype(1).setShape(shape)
                    .setOffset(data.size()).setSize(values.length * 4L).build().toByteArray());
            data.writeBytes(b.array());
        }
        ByteArrayOutputStream index = new ByteArrayOutputStream();
        long dataBlockOffset = index.size();
        byte[] dataBlock = block(entries);
        index.writeBytes(dataBlock);
        index.writeBytes(new byte[5]); // trailer: compression 0, crc32c (not checked)
        long metaOffset = index.size();
        byte[] metaBlock = block(new TreeMap<>());
        index.writeBytes(metaBlock);
        index.writeBytes(new byte[5]);
        ByteArrayOutputStream handle = new ByteArrayOutputStream();
        varint(handle, dataBlockOffset);
        varint(handle, dataBlock.length);
        TreeMap<String, byte[]> indexEntries = new TreeMap<>();
        indexEntries.put(entries.lastKey(), handle.toByteArray());
        long indexOffset = index.size();
        byte[] indexBlock = block(indexEntries);
        index.writeBytes(indexBlock);
        index.writeBytes(new byte[5]);
        ByteArrayOutputStream footer = new ByteArrayOutputStream();
        varint(footer, metaOffset);
        varint(footer, metaBlock.length);
        varint(footer, indexOffset);
        varint(footer, indexBlock.length);
        footer.writeBytes(new byte[40 - footer.size()]);
        index.writeBytes(footer.toByteArray());
        index.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0xdb4775248b80fb57L).array());
        return new Bundle(index.toByteArray(), data.toByteArray());
    }

    /** Entries without prefix sharing, one restart point at 0. */
    private static byte[] block(TreeMap<String, byte[]> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
            varint(out, 0);
            varint(out, key.length);
            varint(out, e.getValue().length);
            out.writeBytes(key);
            out.writeBytes(e.getValue());
        }
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(1).array());
        return out.toByteArray();
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
