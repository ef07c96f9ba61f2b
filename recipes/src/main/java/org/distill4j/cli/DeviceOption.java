package org.distill4j.cli;

import ai.djl.Device;
import org.distill4j.train.DeviceChoice;
import picocli.CommandLine.Option;

/** Where a command computes; shared by every command that runs a model. */
final class DeviceOption {

    @Option(names = "--device", paramLabel = "cpu|gpu|auto", defaultValue = "auto",
            description = "cpu, gpu (an error without one) or auto (the GPU if PyTorch sees one; default)")
    String device;

    DeviceChoice choice() {
        return DeviceChoice.parse(device);
    }

    Device resolve() {
        return choice().resolve();
    }
}
