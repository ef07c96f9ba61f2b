package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import org.junit.jupiter.api.Test;

/** Int8-aware training keeps nothing of an update in the model's manager. */
class QuantizationAwareTest {

    /**
     * Everything an update makes belongs to the update's own manager; the model's holds its weights
     * and the optimizer's state, the same number of arrays after every update. (DJL's clip once left
     * two arrays per projection per update there, and glibc's heap grew around them: a 12-layer run
     * reached 18 GB.)
     */
    @Test
    void updatesLeaveNoArraysInTheModelsManager() {
        Engine.getInstance().setRandomSeed(3);
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(BertConfig.of(120, 32, 2, 4, 64), new BertModel.Heads(false, false, 2), m)) {
            assertEquals(12, QuantizationAware.attach(model, false), "6 projections in each of 2 layers");
            Optimizer adam = Optimizer.adamW().optLearningRateTracker(Tracker.fixed(1e-3f)).build();
            ParameterStore ps = new ParameterStore(m, false);
            int[] held = new int[4];
            for (int s = 0; s < held.length; s++) {
                try (NDManager step = m.newSubManager()) {
                    Shape shape = new Shape(4, 10);
                    EncoderInput in = new EncoderInput(step.randomInteger(1, 120, shape, DataType.INT64),
                            step.zeros(shape, DataType.INT64), step.ones(shape, DataType.INT64));
                    NDArray y = step.create(new long[] {0, 1, 1, 0}).oneHot(2);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = model.classify(ps, model.encode(ps, in, true), true);
                        gc.backward(logits.logSoftmax(-1).mul(y).sum(new int[] {1}).mean().neg());
                        for (Parameter p : model.namedParameters().values()) {
                            try (NDArray g = p.getArray().getGradient()) {
                                adam.update(p.getId(), p.getArray(), g);
                            }
                        }
                    }
                }
                held[s] = m.getManagedArrays().size();
            }
            // The first update creates the optimizer's state; from then on the count stands still.
            assertEquals(held[1], held[3], "arrays in the model's manager after updates 1..4: "
                    + java.util.Arrays.toString(held));
        }
    }
}
