package org.distill4j.weights;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntBinaryOperator;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.weights.proto.OnnxProto.AttributeProto;
import org.distill4j.weights.proto.OnnxProto.GraphProto;
import org.distill4j.weights.proto.OnnxProto.ModelProto;
import org.distill4j.weights.proto.OnnxProto.NodeProto;
import org.distill4j.weights.proto.OnnxProto.OperatorSetIdProto;
import org.distill4j.weights.proto.OnnxProto.TensorProto;
import org.distill4j.weights.proto.OnnxProto.TensorShapeProto;
import org.distill4j.weights.proto.OnnxProto.TypeProto;
import org.distill4j.weights.proto.OnnxProto.ValueInfoProto;

/**
 * Writes a checkpoint as an ONNX graph with the names HuggingFace's export uses: inputs
 * {@code input_ids}, {@code attention_mask}, {@code token_type_ids} (int64, [batch, sequence]),
 * output {@code last_hidden_state} and, with a task head, {@code logits}; batch and sequence axes
 * dynamic. Standard operators of opset 17 only (LayerNormalization, Erf-based GELU), so ONNX Runtime
 * and other runtimes fuse them as they do HuggingFace's graphs.
 *
 * <p>{@link Precision#INT8} writes dynamic quantization as ONNX Runtime's {@code quantize_dynamic}
 * does: every matrix product with a weight becomes {@code DynamicQuantizeLinear} (activations to
 * uint8 with a scale and zero point computed per call) → {@code MatMulInteger} against int8 weights
 * → a float scale. The word-embedding table is stored int8 with a scale per row. Position and
 * token-type embeddings, LayerNorm, softmax, the attention products between activations, the pooler
 * and the task head stay fp32.
 */
public final class OnnxExport {

    /** Weight precision of the exported matrix products. */
    public enum Precision { FP32, INT8 }

    /**
     * @param precision fp32, or int8 dynamic quantization
     * @param perChannel int8 only: one scale per output column of each weight instead of one per weight
     */
    public record Options(Precision precision, boolean perChannel) {
        public static final Options FP32 = new Options(Precision.FP32, false);
    }

    /** The opset written: 17 is the first with LayerNormalization. */
    public static final int OPSET = 17;

    private static final int FLOAT = 1;
    private static final int INT8 = 3;
    private static final int INT64 = 7;

    private final StateDict w;
    private final BertConfig config;
    private final Options options;
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("distill4j_bert");
    private final Set<String> initialized = new HashSet<>();
    private int counter;

    private OnnxExport(Checkpoint checkpoint, Options options) {
        this.w = checkpoint.weights();
        this.config = checkpoint.config();
        this.options = options;
        if (!"gelu".equals(config.hiddenAct())) {
            throw new DistillException("Cannot export " + checkpoint.name() + ": activation '" + config.hiddenAct()
                    + "' (only BERT's exact GELU, 'gelu', is written)");
        }
    }

    /** Writes {@code checkpoint} to {@code out} atomically. */
    public static void write(Checkpoint checkpoint, Path out, Options options) {
        ModelProto model = new OnnxExport(checkpoint, options).build(checkpoint.name());
        try {
            AtomicFile.write(out, tmp -> {
                try (OutputStream os = Files.newOutputStream(tmp)) {
                    model.writeTo(os);
                }
            });
        } catch (IOException e) {
            throw new DistillException("Cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    /** The serialized model, for callers that keep it in memory. */
    public static byte[] toBytes(Checkpoint checkpoint, Options options) {
        return new OnnxExport(checkpoint, options).build(checkpoint.name()).toByteArray();
    }

    private ModelProto build(String source) {
        int h = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int headSize = config.allHeadsSize() / heads;
        for (String in : new String[] {"input_ids", "attention_mask", "token_type_ids"}) {
            graph.addInput(value(in, INT64, "batch", "sequence"));
        }
        // Embeddings: word + position + token type, then LayerNorm.
        String words = options.precision() == Precision.FP32
                ? node("Gather", List.of(weight("embeddings.word_embeddings.weight"), "input_ids"), attrs())
                : quantizedLookup("embeddings.word_embeddings.weight", "input_ids");
        String shape = node("Shape", List.of("input_ids"), attrs());
        String seq = node("Gather", List.of(shape, longs("one_scalar", new long[] {1}, true)), attrs(intAttr("axis", 0)));
        String range = node("Range", List.of(longs("zero_scalar", new long[] {0}, true), seq,
                longs("one_scalar", new long[] {1}, true)), attrs());
        String positionIds = node("Unsqueeze", List.of(range, longs("axes_0", new long[] {0}, false)), attrs());
        String positions = node("Gather", List.of(weight("embeddings.position_embeddings.weight"), positionIds), attrs());
        String types = node("Gather", List.of(weight("embeddings.token_type_embeddings.weight"), "token_type_ids"),
                attrs());
        String sum = node("Add", List.of(node("Add", List.of(words, positions), attrs()), types), attrs());
        String hidden = layerNorm(sum, "embeddings.LayerNorm");
        // [batch, 1, 1, sequence]: 0 for real keys, -10000 for padding, added to every head's scores.
        String maskFloat = node("Cast", List.of("attention_mask"), attrs(intAttr("to", FLOAT)));
        String inverse = node("Sub", List.of(floats("one", 1f), maskFloat), attrs());
        String bias = node("Mul", List.of(inverse, floats("masked_score", -10000f)), attrs());
        String maskBias = node("Unsqueeze", List.of(bias, longs("axes_1_2", new long[] {1, 2}, false)), attrs());
        String split = longs("split_heads", new long[] {0, 0, heads, headSize}, false);
        String join = longs("join_heads", new long[] {0, 0, (long) heads * headSize}, false);
        float scale = (float) Math.sqrt(headSize);
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            String q = node("Transpose", List.of(node("Reshape", List.of(linear(hidden, p + "attention.self.query"), split),
                    attrs())), attrs(intsAttr("perm", 0, 2, 1, 3)));
            String k = node("Transpose", List.of(node("Reshape", List.of(linear(hidden, p + "attention.self.key"), split),
                    attrs())), attrs(intsAttr("perm", 0, 2, 3, 1)));
            String v = node("Transpose", List.of(node("Reshape", List.of(linear(hidden, p + "attention.self.value"), split),
                    attrs())), attrs(intsAttr("perm", 0, 2, 1, 3)));
            String scores = namedNode("Div", torchPath(p + "attention.self") + "/Div",
                    List.of(node("MatMul", List.of(q, k), attrs()), floats("sqrt_head_size", scale)), attrs(), null);
            String probs = node("Softmax", List.of(node("Add", List.of(scores, maskBias), attrs())),
                    attrs(intAttr("axis", -1)));
            String context = node("Reshape", List.of(node("Transpose", List.of(node("MatMul", List.of(probs, v), attrs())),
                    attrs(intsAttr("perm", 0, 2, 1, 3))), join), attrs());
            String attended = node("Add", List.of(linear(context, p + "attention.output.dense"), hidden), attrs());
            String a = layerNorm(attended, p + "attention.output.LayerNorm");
            String up = linear(a, p + "intermediate.dense");
            // Exact GELU: x * 0.5 * (1 + erf(x / sqrt 2)).
            String erf = node("Erf", List.of(node("Div", List.of(up, floats("sqrt2", (float) Math.sqrt(2))), attrs())),
                    attrs());
            String gelu = node("Mul", List.of(node("Mul", List.of(up, floats("half", 0.5f)), attrs()),
                    node("Add", List.of(erf, floats("one", 1f)), attrs())), attrs());
            String out = node("Add", List.of(linear(gelu, p + "output.dense"), a), attrs());
            hidden = layerNorm(out, p + "output.LayerNorm", l == config.numHiddenLayers() - 1 ? "last_hidden_state" : null);
        }
        graph.addOutput(value("last_hidden_state", FLOAT, "batch", "sequence", Integer.toString(h)));
        BertModel.Heads headsPresent = w.heads();
        if (headsPresent.taskOutputs() > 0) {
            String cls = node("Gather", List.of(hidden, longs("zero_scalar", new long[] {0}, true)), attrs(intAttr("axis", 1)));
            String sentence = headsPresent.pooler()
                    ? node("Tanh", List.of(linear(cls, "pooler.dense")), attrs()) : cls;
            String logits = linear(sentence, "classifier", "logits");
            graph.addOutput(value(logits, FLOAT, "batch", Integer.toString(headsPresent.taskOutputs())));
        }
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("distill4j")
                .setDocString("BERT encoder exported by distill4j from " + source
                        + (options.precision() == Precision.INT8 ? " (int8 dynamic quantization)" : ""))
                .setGraph(graph)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .build();
    }

    /** {@code x W^T + b} for the dense layer {@code name} (weight [out, in] as PyTorch keeps it). */
    private String linear(String x, String name) {
        return linear(x, name, null);
    }

    private String linear(String x, String name, String output) {
        Tensor weight = w.get(name + ".weight");
        Tensor bias = w.get(name + ".bias");
        if (weight == null || bias == null) {
            throw new DistillException("Cannot export: " + name + ".weight or .bias is missing from " + w.source());
        }
        String product;
        // The pooler and task head stay fp32: a few thousand weights, and the last rounding before the scores.
        if (options.precision() == Precision.FP32 || !name.startsWith("encoder.")) {
            // Named as PyTorch's exporter names it, so that OnnxBertReader reads our own exports back.
            product = namedNode("MatMul", torchPath(name) + "/MatMul",
                    List.of(x, initializer(name + ".weight_t", weight.transpose())), attrs(), null);
        } else {
            product = quantizedMatMul(x, name, weight.transpose());
        }
        List<String> in = List.of(product, initializer(name + ".bias", bias));
        return output == null ? node("Add", in, attrs()) : node("Add", in, attrs(), output);
    }

    /**
     * {@code DynamicQuantizeLinear(x)} → {@code MatMulInteger} with int8 weights quantized
     * symmetrically (zero point 0, scale max|w|/127 per weight or per output column) → fp32 product
     * times {@code x_scale * w_scale}.
     */
    private String quantizedMatMul(String x, String name, Tensor weightT) {
        int in = (int) weightT.shape()[0];
        int out = (int) weightT.shape()[1];
        Int8 q8 = options.perChannel() ? Int8.of(weightT.data(), in, out, out, (i, j) -> j)
                : Int8.of(weightT.data(), in, out, 1, (i, j) -> 0);
        byte[] q = q8.values();
        float[] scales = q8.scales();
        String qName = name + ".weight_quantized";
        graph.addInitializer(TensorProto.newBuilder().setName(qName).setDataType(INT8).addDims(in).addDims(out)
                .setRawData(ByteString.copyFrom(q)));
        byte[] zeros = new byte[options.perChannel() ? out : 1];
        String zpName = name + ".weight_zero_point";
        TensorProto.Builder zp = TensorProto.newBuilder().setName(zpName).setDataType(INT8)
                .setRawData(ByteString.copyFrom(zeros));
        if (options.perChannel()) {
            zp.addDims(out);
        }
        graph.addInitializer(zp);
        String scaleName = name + ".weight_scale";
        TensorProto.Builder st = floatTensor(scaleName, scales);
        if (options.perChannel()) {
            st.addDims(out);
        }
        graph.addInitializer(st);
        String quantized = fresh("DynamicQuantizeLinear");
        graph.addNode(NodeProto.newBuilder().setOpType("DynamicQuantizeLinear").setName(quantized).addInput(x)
                .addOutput(quantized + "_y").addOutput(quantized + "_scale").addOutput(quantized + "_zero_point"));
        String integer = node("MatMulInteger", List.of(quantized + "_y", qName, quantized + "_zero_point", zpName),
                attrs());
        String real = node("Cast", List.of(integer), attrs(intAttr("to", FLOAT)));
        String scale = node("Mul", List.of(quantized + "_scale", scaleName), attrs());
        return node("Mul", List.of(real, scale), attrs());
    }

    /**
     * The word-embedding lookup on an int8 table with one scale per row (a vocabulary entry): the
     * table is most of a small model's weights, and its rows differ in range.
     */
    private String quantizedLookup(String name, String ids) {
        Tensor table = w.get(name);
        int rows = (int) table.shape()[0];
        int width = (int) table.shape()[1];
        Int8 q8 = Int8.of(table.data(), rows, width, rows, (r, c) -> r);
        byte[] q = q8.values();
        float[] scales = q8.scales();
        String qName = name + "_quantized";
        graph.addInitializer(TensorProto.newBuilder().setName(qName).setDataType(INT8).addDims(rows).addDims(width)
                .setRawData(ByteString.copyFrom(q)));
        String scaleName = name + "_row_scale";
        graph.addInitializer(floatTensor(scaleName, scales).addDims(rows).addDims(1));
        String values = node("Cast", List.of(node("Gather", List.of(qName, ids), attrs())), attrs(intAttr("to", FLOAT)));
        return node("Mul", List.of(values, node("Gather", List.of(scaleName, ids), attrs())), attrs());
    }

    /**
     * A [rows, cols] matrix quantized symmetrically to int8 (zero point 0, values in ±127): each
     * group of entries ({@code group(row, col)}, one of {@code groups}) gets the scale max|w| / 127.
     */
    private record Int8(byte[] values, float[] scales) {
        static Int8 of(float[] data, int rows, int cols, int groups, IntBinaryOperator group) {
            float[] scales = new float[groups];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int g = group.applyAsInt(r, c);
                    scales[g] = Math.max(scales[g], Math.abs(data[r * cols + c]));
                }
            }
            for (int g = 0; g < groups; g++) {
                scales[g] = scales[g] == 0f ? 1f : scales[g] / 127f;
            }
            byte[] q = new byte[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    float v = data[r * cols + c] / scales[group.applyAsInt(r, c)];
                    // Ties to even, as ONNX and PyTorch round (quantization-aware training rounds the same way).
                    q[r * cols + c] = (byte) Math.max(-127, Math.min(127, Math.rint(v)));
                }
            }
            return new Int8(q, scales);
        }
    }

    private String layerNorm(String x, String name) {
        return layerNorm(x, name, null);
    }

    private String layerNorm(String x, String name, String output) {
        List<String> in = List.of(x, weight(name + ".weight"), weight(name + ".bias"));
        List<AttributeProto> a = attrs(intAttr("axis", -1), floatAttr("epsilon", config.layerNormEps()));
        return output == null ? node("LayerNormalization", in, a) : node("LayerNormalization", in, a, output);
    }

    private String node(String op, List<String> inputs, List<AttributeProto> attributes) {
        return node(op, inputs, attributes, null);
    }

    private String node(String op, List<String> inputs, List<AttributeProto> attributes, String output) {
        return namedNode(op, fresh(op), inputs, attributes, output);
    }

    private String namedNode(String op, String name, List<String> inputs, List<AttributeProto> attributes,
            String output) {
        String out = output == null ? name + "_out" : output;
        graph.addNode(NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(out)
                .addAllAttribute(attributes));
        return out;
    }

    /** A module path as PyTorch's ONNX exporter writes node scopes: {@code /encoder/layer.0/attention/self}. */
    private static String torchPath(String module) {
        return "/" + module.replace('.', '/').replaceAll("layer/(\\d+)", "layer.$1");
    }

    private String fresh(String op) {
        return op + "_" + counter++;
    }

    /** A weight of the checkpoint as an initializer of the same name (added once). */
    private String weight(String name) {
        Tensor t = w.get(name);
        if (t == null) {
            throw new DistillException("Cannot export: " + name + " is missing from " + w.source());
        }
        return initializer(name, t);
    }

    private String initializer(String name, Tensor t) {
        if (initialized.add(name)) {
            TensorProto.Builder b = floatTensor(name, t.data());
            for (long d : t.shape()) {
                b.addDims(d);
            }
            graph.addInitializer(b);
        }
        return name;
    }

    private static TensorProto.Builder floatTensor(String name, float[] data) {
        ByteBuffer bytes = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(data);
        return TensorProto.newBuilder().setName(name).setDataType(FLOAT).setRawData(ByteString.copyFrom(bytes.array()));
    }

    /** A float scalar constant. */
    private String floats(String name, float value) {
        if (initialized.add(name)) {
            graph.addInitializer(floatTensor(name, new float[] {value}));
        }
        return name;
    }

    /** An int64 constant: a scalar, or a vector of {@code values.length}. */
    private String longs(String name, long[] values, boolean scalar) {
        if (initialized.add(name)) {
            TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(INT64);
            for (long v : values) {
                b.addInt64Data(v);
            }
            if (!scalar) {
                b.addDims(values.length);
            }
            graph.addInitializer(b);
        }
        return name;
    }

    private static ValueInfoProto value(String name, int type, String... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (String d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d.chars().allMatch(Character::isDigit)) {
                dim.setDimValue(Long.parseLong(d));
            } else {
                dim.setDimParam(d);
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
    }

    private static List<AttributeProto> attrs(AttributeProto... a) {
        return new ArrayList<>(List.of(a));
    }

    private static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(2).setI(v).build();
    }

    private static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(1).setF(v).build();
    }

    private static AttributeProto intsAttr(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(7);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }
}
