package org.distill4j.serve;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.distill4j.DistillException;
import org.distill4j.text.TokenBatch;

/**
 * ONNX Runtime on an ONNX encoder graph with HuggingFace's names: inputs {@code input_ids},
 * {@code attention_mask} and (if the graph takes it) {@code token_type_ids}; outputs
 * {@code last_hidden_state} and, for a classifier, {@code logits}.
 */
final class OnnxRuntimeBackend implements EncoderBackend {

    static final String HIDDEN = "last_hidden_state";
    static final String LOGITS = "logits";

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final String source;
    private final boolean takesTypes;
    private final int hidden;
    private final int outputs;

    /** @param model the .onnx file's bytes */
    OnnxRuntimeBackend(byte[] model, String source, int threads) {
        this.source = source;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
            this.session = env.createSession(model, so);
        } catch (OrtException e) {
            throw new DistillException("ONNX Runtime cannot load " + source + ": " + e.getMessage(), e);
        }
        try {
            Set<String> inputs = session.getInputNames();
            for (String need : new String[] {"input_ids", "attention_mask"}) {
                if (!inputs.contains(need)) {
                    throw new DistillException(source + " has no input '" + need + "' (inputs: " + inputs
                            + "); export BERT-family models with HuggingFace's names (./distill export)");
                }
            }
            this.takesTypes = inputs.contains("token_type_ids");
            Map<String, NodeInfo> out = session.getOutputInfo();
            if (!out.containsKey(HIDDEN)) {
                throw new DistillException(source + " has no output '" + HIDDEN + "' (outputs: " + out.keySet() + ")");
            }
            this.hidden = (int) lastDim(out.get(HIDDEN));
            this.outputs = out.containsKey(LOGITS) ? (int) lastDim(out.get(LOGITS)) : 0;
        } catch (OrtException | RuntimeException e) {
            closeQuietly();
            throw e instanceof DistillException d ? d
                    : new DistillException("Cannot read the graph of " + source + ": " + e.getMessage(), e);
        }
    }

    private long lastDim(NodeInfo info) {
        long[] shape = ((TensorInfo) info.getInfo()).getShape();
        long d = shape[shape.length - 1];
        if (d <= 0) {
            throw new DistillException(source + ": output " + info.getName() + " has no fixed last dimension");
        }
        return d;
    }

    @Override
    public float[] lastHidden(TokenBatch batch) {
        return run(batch, HIDDEN);
    }

    @Override
    public float[] logits(TokenBatch batch) {
        if (outputs == 0) {
            throw new IllegalStateException(source + " has no '" + LOGITS + "' output: it is not a classifier");
        }
        return run(batch, LOGITS);
    }

    private float[] run(TokenBatch batch, String output) {
        long[] shape = {batch.batchSize(), batch.sequenceLength()};
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(batch.inputIds()), shape));
            in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(batch.attentionMask()), shape));
            if (takesTypes) {
                in.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(batch.tokenTypeIds()), shape));
            }
            try (OrtSession.Result r = session.run(in, Set.of(output))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] values = new float[fb.remaining()];
                fb.get(values);
                return values;
            }
        } catch (OrtException e) {
            throw new DistillException("ONNX Runtime failed on " + source + ": " + e.getMessage(), e);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public int hiddenSize() {
        return hidden;
    }

    @Override
    public int outputs() {
        return outputs;
    }

    @Override
    public Backend kind() {
        return Backend.ONNX;
    }

    @Override
    public void close() {
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            session.close();
        } catch (OrtException e) {
            // Closing frees native memory; a failure here leaves nothing a caller could act on.
        }
    }
}
