package org.distill4j.weights;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.distill4j.GlueSample;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The encoder loaded with the builtin ONNX weights must reproduce ONNX Runtime's last hidden
 * state on the same tokens. 1e-4 max absolute difference is the fp32 budget: both run the same
 * arithmetic, differing only in kernel summation order.
 */
class OnnxParityTest {

    static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @CsvSource({"builtin:all-minilm-l6-v2, all-minilm-l6-v2.onnx", "builtin:bge-small-en-v1.5, bge-small-en-v1.5.onnx"})
    void lastHiddenStateMatchesOnnxRuntime(String name, String resource) throws Exception {
        Checkpoint ckpt = Checkpoint.load(name);
        List<GlueSample.Text> texts = GlueSample.mixed();
        assertTrue(texts.size() >= 32);
        byte[] onnx;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(resource)) {
            onnx = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double worst = 0;
        int compared = 0;
        try (NDManager manager = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(manager);
                BertTokenizer tok = ckpt.tokenizer(128);
                OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(onnx, opts)) {
                ParameterStore ps = new ParameterStore(manager, false);
                // Batches of 8 so that padding (and its masking) is exercised in every batch.
                for (int start = 0; start < texts.size(); start += 8) {
                    List<GlueSample.Text> slice = texts.subList(start, Math.min(start + 8, texts.size()));
                    TokenBatch batch = tok.batch(slice.stream().map(GlueSample.Text::first).toList(),
                            slice.get(0).second() == null ? null : slice.stream().map(GlueSample.Text::second).toList());
                    float[] ours;
                    try (NDManager step = manager.newSubManager()) {
                        EncoderOutput out = model.encode(ps, batch.toInput(step), false);
                        ours = out.lastHidden().toFloatArray();
                    }
                    float[][][] ref = runOrt(env, session, batch);
                    int h = ref[0][0].length;
                    for (int b = 0; b < batch.batchSize(); b++) {
                        for (int s = 0; s < batch.length(b); s++) {
                            for (int d = 0; d < h; d++) {
                                double diff = Math.abs(ours[(b * batch.sequenceLength() + s) * h + d] - ref[b][s][d]);
                                worst = Math.max(worst, diff);
                            }
                            compared++;
                        }
                    }
                }
            }
        }
        System.out.printf("%s: max |DJL - ORT| = %.3g over %d tokens of %d texts%n", name, worst, compared,
                texts.size());
        assertTrue(worst <= TOLERANCE, name + ": max abs difference " + worst + " exceeds " + TOLERANCE);
    }

    static float[][][] runOrt(OrtEnvironment env, OrtSession session, TokenBatch batch) throws Exception {
        long[] shape = {batch.batchSize(), batch.sequenceLength()};
        try (OnnxTensor ids = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(batch.inputIds()), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(batch.attentionMask()), shape);
                OnnxTensor types = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(batch.tokenTypeIds()), shape);
                OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                        "token_type_ids", types))) {
            return (float[][][]) r.get(0).getValue();
        }
    }
}
