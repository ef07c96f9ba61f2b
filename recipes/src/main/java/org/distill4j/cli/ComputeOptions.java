package org.distill4j.cli;

import org.distill4j.train.DeviceChoice;
import org.distill4j.train.Precision;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where and in what precision a training command computes. */
final class ComputeOptions {

    @Mixin
    DeviceOption device;

    @Option(names = "--precision", paramLabel = "fp32|fp16", defaultValue = "fp32",
            description = "fp32 (default) or fp16: mixed precision with fp32 master weights and loss scaling")
    String precision;

    DeviceChoice device() {
        return device.choice();
    }

    Precision precision() {
        return Precision.parse(precision);
    }
}
