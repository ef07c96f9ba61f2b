package org.distill4j.cli;

import org.distill4j.train.DeviceChoice;
import org.distill4j.train.Precision;
import picocli.CommandLine.Option;

/** Where and in what precision a training command computes. */
final class ComputeOptions {

    @Option(names = "--device", paramLabel = "cpu|gpu|auto", defaultValue = "auto",
            description = "where to train: cpu, gpu (an error without one) or auto (the GPU if PyTorch sees one; "
                    + "default)")
    String device;

    @Option(names = "--precision", paramLabel = "fp32|fp16", defaultValue = "fp32",
            description = "fp32 (default) or fp16: mixed precision with fp32 master weights and loss scaling")
    String precision;

    DeviceChoice device() {
        return DeviceChoice.parse(device);
    }

    Precision precision() {
        return Precision.parse(precision);
    }
}
