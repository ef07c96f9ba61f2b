package org.distill4j.weights;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.distill4j.DistillException;
import org.distill4j.model.BertConfig;
import org.distill4j.weights.proto.OnnxProto.GraphProto;
import org.distill4j.weights.proto.OnnxProto.ModelProto;
import org.distill4j.weights.proto.OnnxProto.NodeProto;
import org.distill4j.weights.proto.OnnxProto.TensorProto;

/**
 * Reads a BERT encoder exported to ONNX (e.g. by {@code torch.onnx.export} through HuggingFace
 * Optimum). LayerNorm, bias and embedding initializers keep their HuggingFace names, but the six
 * projection matrices of each layer are anonymous ({@code onnx::MatMul_787}); their role is
 * recovered from the graph: each feeds a MatMul whose output is added to a named bias
 * ({@code encoder.layer.0.attention.self.query.bias}), and the MatMul node's own name
 * ({@code /encoder/layer.0/attention/self/query/MatMul}) must agree.
 */
public final class OnnxBertReader {

    private static final Pattern DENSE_BIAS = Pattern.compile(
            "^(?:bert\\.)?(encoder\\.layer\\.\\d+\\.(?:attention\\.self\\.(?:query|key|value)"
                    + "|attention\\.output\\.dense|intermediate\\.dense|output\\.dense)|pooler\\.dense|classifier)\\.bias$");
    private static final Pattern PARAMETER = Pattern.compile(
            "^(?:bert\\.)?(?:embeddings|encoder|pooler|classifier|cls)(?:\\.[^:]*)?\\.(?:weight|bias)$");
    private static final Pattern ATTENTION_DIV = Pattern.compile("^/(?:bert/)?encoder/layer\\.0/attention/self/Div$");
    private static final Pattern LAYER_NORM_ADD = Pattern.compile("^/(?:bert/)?embeddings/LayerNorm/Add$");

    private OnnxBertReader() {}

    /**
     * @param in the .onnx file's bytes
     * @param source a name for error messages (path or builtin name)
     * @param heads the head count if known from a config.json, else 0 to infer it from the graph
     */
    public static LoadedWeights read(InputStream in, String source, int heads) {
        ModelProto model;
        try {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            model = ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new DistillException(source + " is not an ONNX model (protobuf parse failed: " + e.getMessage() + ")",
                    e);
        }
        if (!model.hasGraph() || model.getGraph().getInitializerCount() == 0) {
            throw new DistillException(source + " is not an ONNX model with weights: it has no graph initializers");
        }
        GraphProto g = model.getGraph();
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.put(t.getName(), t);
        }
        Map<String, NodeProto> producer = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String o : n.getOutputList()) {
                producer.put(o, n);
            }
        }

        StateDict dict = new StateDict(source);
        for (TensorProto t : g.getInitializerList()) {
            String name = t.getName();
            if (!PARAMETER.matcher(name).matches() || t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
                continue; // projections ("onnx::MatMul_..", "....weight_t") are placed below; scalars are not weights
            }
            dict.put(name, toTensor(t, source));
        }
        for (NodeProto add : g.getNodeList()) {
            if (!"Add".equals(add.getOpType())) {
                continue;
            }
            placeProjection(add, inits, producer, dict, source);
        }
        if (!dict.contains("encoder.layer.0.attention.self.query.weight")) {
            throw new DistillException(source + ": no BERT projection weights found in the graph (expected a MatMul "
                    + "followed by an Add with bias 'encoder.layer.0.attention.self.query.bias')");
        }
        Tensor words = dict.get("embeddings.word_embeddings.weight");
        if (words == null || words.shape().length != 2) {
            throw new DistillException(source + ": no 2-d initializer 'embeddings.word_embeddings.weight'; "
                    + "not a BERT encoder export");
        }
        int hidden = (int) words.shape()[1];
        int numHeads = heads > 0 ? heads : inferHeads(g, producer, inits, hidden, source);
        float eps = inferLayerNormEps(g, producer, inits);
        BertConfig config = dict.inferConfig(numHeads, eps);
        return new LoadedWeights(config, dict);
    }

    private static void placeProjection(NodeProto add, Map<String, TensorProto> inits,
            Map<String, NodeProto> producer, StateDict dict, String source) {
        String biasName = null;
        String other = null;
        for (String in : add.getInputList()) {
            Matcher m = DENSE_BIAS.matcher(in);
            if (inits.containsKey(in) && m.matches()) {
                biasName = m.group(1);
            } else {
                other = in;
            }
        }
        if (biasName == null || other == null) {
            return;
        }
        NodeProto matMul = producer.get(other);
        if (matMul == null || !"MatMul".equals(matMul.getOpType()) || matMul.getInputCount() != 2) {
            throw new DistillException(source + ": bias '" + biasName + ".bias' is not added to a MatMul output; "
                    + "this ONNX graph is not laid out like a BERT export");
        }
        TensorProto weight = inits.get(matMul.getInput(1));
        if (weight == null) {
            throw new DistillException(source + ": MatMul '" + matMul.getName() + "' has no weight initializer");
        }
        String expectedNode = "/" + biasName.replace('.', '/').replace("layer/", "layer.") + "/MatMul";
        if (!matMul.getName().isEmpty() && !matMul.getName().endsWith(expectedNode)) {
            throw new DistillException(source + ": MatMul node '" + matMul.getName() + "' feeds bias '" + biasName
                    + ".bias'; expected a node named like '" + expectedNode + "'");
        }
        // ONNX MatMul computes x · W with W [in, out]; the model stores [out, in].
        dict.put(biasName + ".weight", toTensor(weight, source).transpose());
    }

    /** The attention Div by sqrt(head size) tells the head size, hence the head count. */
    private static int inferHeads(GraphProto g, Map<String, NodeProto> producer, Map<String, TensorProto> inits,
            int hidden, String source) {
        for (NodeProto n : g.getNodeList()) {
            if ("Div".equals(n.getOpType()) && ATTENTION_DIV.matcher(n.getName()).matches()) {
                Float c = scalarConstant(n.getInput(1), producer, inits);
                if (c != null) {
                    int headSize = Math.round(c * c);
                    if (headSize > 0 && hidden % headSize == 0) {
                        return hidden / headSize;
                    }
                }
            }
        }
        throw new DistillException(source + ": cannot infer num_attention_heads from the ONNX graph; put a config.json "
                + "with 'num_attention_heads' beside the .onnx file");
    }

    /** The epsilon of the decomposed embedding LayerNorm (variance + eps), BERT's 1e-12 if not found. */
    private static float inferLayerNormEps(GraphProto g, Map<String, NodeProto> producer,
            Map<String, TensorProto> inits) {
        for (NodeProto n : g.getNodeList()) {
            if ("LayerNormalization".equals(n.getOpType())) {
                for (var a : n.getAttributeList()) {
                    if ("epsilon".equals(a.getName())) {
                        return a.getF();
                    }
                }
            }
            if ("Add".equals(n.getOpType()) && LAYER_NORM_ADD.matcher(n.getName()).matches()) {
                Float c = scalarConstant(n.getInput(1), producer, inits);
                if (c != null) {
                    return c;
                }
            }
        }
        return 1e-12f;
    }

    /** A one-element float from a Constant node (PyTorch's exports) or an initializer (ours), else null. */
    private static Float scalarConstant(String output, Map<String, NodeProto> producer,
            Map<String, TensorProto> inits) {
        TensorProto init = inits.get(output);
        if (init != null && init.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
            float[] v = floats(init, output);
            return v.length == 1 ? v[0] : null;
        }
        NodeProto p = producer.get(output);
        if (p == null || !"Constant".equals(p.getOpType())) {
            return null;
        }
        for (var a : p.getAttributeList()) {
            if ("value".equals(a.getName()) && a.hasT() && a.getT().getDataType() == TensorProto.DataType.FLOAT_VALUE) {
                float[] v = floats(a.getT(), output);
                return v.length == 1 ? v[0] : null;
            }
        }
        return null;
    }

    static Tensor toTensor(TensorProto t, String source) {
        List<Long> dims = t.getDimsList();
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.get(i);
        }
        if (t.getDataLocation() == 1) {
            throw new DistillException(source + ": tensor '" + t.getName() + "' is stored in an external data file; "
                    + "re-export the model with weights inside the .onnx file");
        }
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new DistillException(source + ": tensor '" + t.getName() + "' has ONNX data type " + t.getDataType()
                    + "; only float32 models are supported (quantized exports are not)");
        }
        float[] values = floats(t, source);
        if (Tensor.elements(shape) != values.length) {
            throw new DistillException(source + ": tensor '" + t.getName() + "' has dims " + dims + " but holds "
                    + values.length + " values");
        }
        return new Tensor(shape, values);
    }

    private static float[] floats(TensorProto t, String source) {
        if (t.hasRawData()) {
            ByteString raw = t.getRawData();
            float[] out = new float[raw.size() / 4];
            raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
        float[] out = new float[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloatData(i);
        }
        return out;
    }

}
