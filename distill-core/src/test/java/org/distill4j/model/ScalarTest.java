package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.text.TokenBatch;
import org.junit.jupiter.api.Test;

/**
 * Constants that autograd keeps for the backward pass stay valid however long the backward pass
 * waits. Between forward and backward each test collects garbage and then takes small blocks of
 * native memory and fills them with 1e-30: a constant left in a freed Java buffer (what DJL's
 * {@code x.div(8f)} does) is read back as that, and the gradient is wrong every time (200 of 200
 * in scripts/bench/ScalarLifetimeRepro.java).
 */
class ScalarTest {

    /** Frees unreachable direct buffers and reuses their memory, as a long run eventually does. */
    private static List<ByteBuffer> churn() throws InterruptedException {
        System.gc();
        Thread.sleep(5); // the cleaner frees collected buffers on its own thread
        List<ByteBuffer> taken = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            b.putFloat(0, 1e-30f);
            taken.add(b);
        }
        return taken;
    }

    private static void assertGradient(BiFunction<NDArray, Float, NDArray> op, float c, float[] expected)
            throws InterruptedException {
        try (NDManager m = NDManager.newBaseManager()) {
            for (int trial = 0; trial < 10; trial++) {
                try (NDManager s = m.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray x = s.create(new float[] {-1f, 0.5f, 2f, 4f});
                    x.setRequiresGradient(true);
                    NDArray loss = op.apply(x, c).sum();
                    List<ByteBuffer> held = churn();
                    gc.backward(loss);
                    assertArrayEquals(expected, x.getGradient().toFloatArray(), 0f, "trial " + trial);
                    held.clear();
                }
            }
        }
    }

    @Test
    void constantsOutliveTheCollector() throws InterruptedException {
        assertGradient(Scalar::mul, 3f, new float[] {3f, 3f, 3f, 3f});
        assertGradient(Scalar::div, 8f, new float[] {0.125f, 0.125f, 0.125f, 0.125f});
        assertGradient(Scalar::max, 1f, new float[] {0f, 0f, 1f, 1f});
    }

    /**
     * A training forward (dropout on, a LoRA adapter, a soft-target term with a temperature) and its
     * backward give the same gradients, bit for bit, whether or not garbage is collected and memory
     * reused while the backward pass waits.
     */
    @Test
    void encoderGradientsDoNotDependOnTheCollector() throws InterruptedException {
        BertConfig config = new BertConfig(100, 32, 2, 4, 8, 64, "gelu", 64, 2, 1e-12f, 0.1f, 0.1f);
        Engine.getInstance().setRandomSeed(5);
        try (NDManager root = NDManager.newBaseManager();
                BertModel model = BertModel.create(config, new BertModel.Heads(false, false, 2), root)) {
            // LoRA on the first layer's query: its alpha / r scaling is on the gradient path too.
            model.replace("encoder.layer.0.attention.self.query", base -> new LoraLinear(base, 4, 8f, 0.1f));
            model.initializeNew();
            ParameterStore ps = new ParameterStore(root, false);
            long[] ids = new long[4 * 12];
            long[] types = new long[ids.length];
            long[] mask = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1 + (i * 37) % 99;
                mask[i] = i % 12 < 9 + i / 12 % 3 ? 1 : 0; // rows of 9 to 11 real tokens
            }
            TokenBatch batch = new TokenBatch(ids, types, mask, 4, 12);
            Map<String, float[]> quiet = gradients(model, ps, batch, false);
            Map<String, float[]> churned = gradients(model, ps, batch, true);
            assertEquals(model.namedParameters().keySet(), quiet.keySet());
            quiet.forEach((name, g) -> assertArrayEquals(g, churned.get(name), 0f, name));
        }
    }

    private static Map<String, float[]> gradients(BertModel model, ParameterStore ps, TokenBatch batch,
            boolean churn) throws InterruptedException {
        List<ByteBuffer> held = List.of();
        try (NDManager s = model.manager().newSubManager(); DropoutMasks masks = DropoutMasks.seeded(11);
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            EncoderInput in = batch.toInput(s);
            NDArray logits = model.classify(ps, model.encode(ps, in, true), true);
            NDArray labels = s.create(new float[] {0, 1, 1, 0});
            NDArray teacher = s.create(new float[] {2f, -1f, 0.5f, 0.25f, -3f, 1f, 0f, 4f}, new Shape(4, 2));
            NDArray loss = HardLabelLoss.of(logits, labels, false).add(SoftTargetLoss.of(logits, teacher, 2f, false));
            if (churn) {
                held = churn();
            }
            gc.backward(loss);
            Reference.reachabilityFence(held); // the reused memory must stay taken through the backward pass
            Map<String, float[]> out = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                try (NDArray g = e.getValue().getArray().getGradient()) {
                    out.put(e.getKey(), g.toFloatArray());
                }
                JniUtils.zeroGrad((PtNDArray) e.getValue().getArray());
            }
            return out;
        }
    }
}
