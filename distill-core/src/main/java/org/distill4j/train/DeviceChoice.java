package org.distill4j.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;
import org.distill4j.DistillException;

/**
 * Where training and evaluation run: {@code cpu}, {@code gpu} (the first CUDA device, an error
 * when there is none) or {@code auto} (the GPU when PyTorch sees one, else the CPU). Every model,
 * parameter and batch of a run is created on the resolved device.
 */
public enum DeviceChoice {
    CPU, GPU, AUTO;

    /** Parses {@code cpu | gpu | auto} (any case); the message names the accepted values. */
    public static DeviceChoice parse(String s) {
        if (s != null) {
            for (DeviceChoice d : values()) {
                if (d.name().equalsIgnoreCase(s.trim())) {
                    return d;
                }
            }
        }
        throw new DistillException("device must be one of cpu, gpu, auto; got '" + s + "'");
    }

    /** The device this choice means on this machine. */
    public Device resolve() {
        return switch (this) {
            case CPU -> Device.cpu();
            case AUTO -> gpus() > 0 ? Device.gpu() : Device.cpu();
            case GPU -> {
                if (gpus() == 0) {
                    throw new DistillException("device gpu was asked for, but PyTorch sees no CUDA GPU (engine flavour: "
                            + flavour() + "). The default build carries CPU natives only: build with "
                            + "'mvn -Pcuda package' (CUDA 12.4 natives), or point DJL at a CUDA libtorch "
                            + "(PYTORCH_LIBRARY_PATH, PYTORCH_FLAVOR); see docs/gpu.md. Use device cpu or auto meanwhile.");
                }
                yield Device.gpu();
            }
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    private static int gpus() {
        return Engine.getEngine("PyTorch").getGpuCount();
    }

    private static String flavour() {
        String f = System.getProperty("PYTORCH_FLAVOR", System.getenv("PYTORCH_FLAVOR"));
        return f == null ? "cpu (from the pytorch-native-cpu jar)" : f;
    }
}
