package org.distill4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.Json;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
 * tensor name to dtype, shape and byte range, then the raw little-endian data. Reads F32, F16 and
 * BF16 (HuggingFace checkpoints are often half precision) into float32; writes F32.
 */
public final class Safetensors {


    private Safetensors() {}

    public static StateDict read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            buf.order(ByteOrder.LITTLE_ENDIAN);
            if (ch.size() < 8) {
                throw new DistillException(file + " is not a safetensors file (" + ch.size() + " bytes; the header "
                        + "length alone takes 8)");
            }
            long headerLen = buf.getLong(0);
            if (headerLen <= 0 || headerLen > ch.size() - 8) {
                throw new DistillException(file + " is not a safetensors file (header length " + headerLen + ")");
            }
            byte[] header = new byte[(int) headerLen];
            buf.get(8, header);
            JsonNode root = Json.MAPPER.readTree(header);
            long dataStart = 8 + headerLen;
            StateDict dict = new StateDict(file.toString());
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                dict.put(e.getKey(), readTensor(buf, dataStart, e.getKey(), e.getValue(), file));
            }
            return dict;
        } catch (IOException e) {
            throw new DistillException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }

    private static Tensor readTensor(ByteBuffer buf, long dataStart, String name, JsonNode info, Path file) {
        String dtype = info.path("dtype").asText();
        JsonNode shapeNode = info.path("shape");
        JsonNode offsets = info.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong()) {
            throw new DistillException(file + ": the header entry of tensor '" + name + "' needs \"shape\": [...] and "
                    + "\"data_offsets\": [begin, end]; it is " + abbreviate(info.toString()));
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new DistillException(file + ": tensor '" + name + "' has shape " + shapeNode
                        + "; dimensions are non-negative integers");
            }
            shape[i] = d.asLong();
        }
        long n = Tensor.elements(shape);
        long begin = dataStart + offsets.get(0).asLong();
        long end = dataStart + offsets.get(1).asLong();
        if (n < 0 || offsets.get(0).asLong() < 0 || end < begin) {
            throw new DistillException(file + ": tensor '" + name + "' has shape " + shapeNode + " and data_offsets "
                    + offsets + "; that is not a tensor this file can hold");
        }
        int width = switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new DistillException(file + ": tensor '" + name + "' has dtype " + dtype
                    + "; only F32, F16 and BF16 are supported");
        };
        if (end - begin != n * width || end > buf.capacity()) {
            throw new DistillException(file + ": tensor '" + name + "' byte range [" + begin + ", " + end
                    + ") does not match its shape and dtype " + dtype);
        }
        ByteBuffer slice = buf.slice((int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        float[] data = new float[(int) n];
        switch (dtype) {
            case "F32" -> slice.asFloatBuffer().get(data);
            case "F16" -> {
                for (int i = 0; i < n; i++) {
                    data[i] = halfToFloat(slice.getShort(i * 2));
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    data[i] = Float.intBitsToFloat((slice.getShort(i * 2) & 0xffff) << 16);
                }
            }
        }
        return new Tensor(shape, data);
    }

    /**
     * Writes every tensor as F32. The file appears atomically: it is written beside the target
     * and renamed, so a crash never leaves a half-written model.
     */
    public static void write(StateDict dict, Path file, Map<String, String> metadata) {
        ObjectNode header = Json.MAPPER.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        meta.put("format", "pt");
        metadata.forEach(meta::put);
        long offset = 0;
        for (Map.Entry<String, Tensor> e : dict.tensors().entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            long bytes = e.getValue().size() * 4;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(header);
        } catch (IOException e) {
            throw new DistillException("Cannot encode safetensors header: " + e.getMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8; // the spec recommends 8-byte alignment of the data
        byte[] headerBytes = new byte[padded];
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            headerBytes[i] = ' ';
        }
        try {
            AtomicFile.write(file, tmp -> {
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
                    out.write(len.array());
                    out.write(headerBytes);
                    ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                    for (Tensor t : dict.tensors().values()) {
                        for (float v : t.data()) {
                            if (!chunk.hasRemaining()) {
                                out.write(chunk.array(), 0, chunk.position());
                                chunk.clear();
                            }
                            chunk.putFloat(v);
                        }
                    }
                    out.write(chunk.array(), 0, chunk.position());
                }
            });
        } catch (IOException e) {
            throw new DistillException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }


    /** IEEE 754 binary16 to float32 (Float.float16ToFloat arrived only in Java 20). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13)); // inf or NaN
        }
        if (exp == 0) {
            float sub = mant * 0x1p-24f; // subnormal (or zero)
            return sign != 0 ? -sub : sub;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
