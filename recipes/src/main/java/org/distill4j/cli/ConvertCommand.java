package org.distill4j.cli;

import java.nio.file.Path;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Writes any model as a HuggingFace directory. */
@Command(name = "convert", description = "Write a model as a HuggingFace directory "
        + "(config.json, model.safetensors, tokenizer.json).")
final class ConvertCommand implements Runnable {

    @Parameters(paramLabel = "MODEL", description = "builtin:NAME, a .onnx file or a model directory")
    String model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    Path out;

    @Override
    public void run() {
        Checkpoint ckpt = Checkpoint.load(model);
        HfModelDirectory.write(ckpt, out);
        System.out.printf("wrote %s (%d tensors, %s) to %s%n", ckpt.name(), ckpt.weights().tensors().size(),
                ckpt.config().numHiddenLayers() + " layers, hidden " + ckpt.config().hiddenSize(), out);
    }
}
