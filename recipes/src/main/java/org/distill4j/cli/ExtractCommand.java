package org.distill4j.cli;

import java.nio.file.Path;
import org.distill4j.prune.Extraction;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A DynaBERT sub-network as a model of its own. */
@Command(name = "extract", description = "Write the sub-network at a width and depth of a (rewired, DynaBERT-trained) "
        + "model as a standalone, smaller model directory.")
final class ExtractCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model to cut")
    Path model;

    @Option(names = "--width", defaultValue = "1.0", description = "share of each layer's heads and FFN neurons kept, "
            + "the first ones (default ${DEFAULT-VALUE})")
    double width;

    @Option(names = "--depth", defaultValue = "1.0", description = "share of the layers kept, by DynaBERT's rule "
            + "(default ${DEFAULT-VALUE})")
    double depth;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output model directory")
    Path out;

    @Override
    public void run() {
        Checkpoint full = Checkpoint.load(model.toString());
        Checkpoint cut = Extraction.subNetwork(full, width, depth);
        HfModelDirectory.write(cut, out, ConvertCommand.taskHead(model));
        ConvertCommand.deriveInfo(model, out, String.format("w%s d%s", width, depth));
        System.out.printf("width %.2f x depth %.2f: %d layers x %d heads x %d neurons (from %d x %d x %d), %,d -> %,d "
                + "tensor values; wrote %s%n", width, depth, cut.config().numHiddenLayers(),
                cut.config().numAttentionHeads(), cut.config().intermediateSize(), full.config().numHiddenLayers(),
                full.config().numAttentionHeads(), full.config().intermediateSize(), size(full), size(cut), out);
    }

    private static long size(Checkpoint c) {
        return c.weights().tensors().values().stream().mapToLong(t -> t.size()).sum();
    }
}
