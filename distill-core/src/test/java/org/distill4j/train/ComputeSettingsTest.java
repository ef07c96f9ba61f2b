package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.distill4j.DistillException;
import org.junit.jupiter.api.Test;

/** Device choice, precision names and the dynamic loss scale. */
class ComputeSettingsTest {

    @Test
    void deviceChoiceResolvesToWhatThisMachineHas() {
        assertEquals(DeviceChoice.CPU, DeviceChoice.parse(" CPU "));
        assertEquals(Device.cpu(), DeviceChoice.CPU.resolve());
        DistillException bad = assertThrows(DistillException.class, () -> DeviceChoice.parse("cuda"));
        assertTrue(bad.getMessage().contains("cpu, gpu, auto"), bad.getMessage());
        if (Engine.getEngine("PyTorch").getGpuCount() == 0) {
            assertEquals(Device.cpu(), DeviceChoice.AUTO.resolve());
            DistillException e = assertThrows(DistillException.class, DeviceChoice.GPU::resolve);
            assertTrue(e.getMessage().contains("docs/gpu.md") && e.getMessage().contains("no CUDA GPU"), e.getMessage());
        } else {
            assertEquals(Device.gpu(), DeviceChoice.AUTO.resolve());
            assertEquals(Device.gpu(), DeviceChoice.GPU.resolve());
        }
    }

    @Test
    void precisionNamesAndTheMissingBfloat16() {
        assertEquals(Precision.FP16, Precision.parse("fp16"));
        assertEquals(Precision.FP32, Precision.parse("FP32"));
        DistillException e = assertThrows(DistillException.class, () -> Precision.parse("bf16"));
        assertTrue(e.getMessage().contains("no bfloat16"), e.getMessage());
        assertThrows(DistillException.class, () -> Precision.parse("int8"));
    }

    @Test
    void lossScaleHalvesOnOverflowAndGrowsAfterCleanUpdates() {
        LossScaler s = new LossScaler(1024f, 3);
        assertTrue(s.overflowed());
        assertEquals(512f, s.scale());
        s.updated();
        s.updated();
        assertEquals(512f, s.scale());
        s.updated();
        assertEquals(1024f, s.scale(), "three clean updates double the scale");
        assertEquals(0, s.cleanUpdates());
        s.updated();
        assertTrue(s.overflowed());
        assertEquals(0, s.cleanUpdates(), "an overflow restarts the count");
        LossScaler tiny = new LossScaler(2 * LossScaler.MIN_SCALE, 10);
        assertTrue(tiny.overflowed());
        assertFalse(tiny.overflowed(), "a scale below the minimum means divergence");
    }
}
