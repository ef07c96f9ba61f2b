package org.distill4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.distill4j.DistillException;
import org.distill4j.prune.Importance;
import org.distill4j.prune.StructuredPruning;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** One-shot structured pruning by importance. */
@Command(name = "prune", description = "Remove the least important share of every layer's attention heads and FFN "
        + "neurons (scores from ./distill importance) and write the smaller model.")
final class PruneCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a fine-tuned model directory")
    Path model;

    @Option(names = "--importance", paramLabel = "FILE", description = "scores (default DIR/importance.json, "
            + "written by ./distill importance --model DIR)")
    Path importance;

    @Option(names = "--heads", defaultValue = "0", description = "share of each layer's heads to remove, e.g. 0.5")
    double heads;

    @Option(names = "--ffn", defaultValue = "0", description = "share of each layer's FFN neurons to remove")
    double ffn;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output model directory")
    Path out;

    @Override
    public void run() {
        Path file = importance != null ? importance : model.resolve("importance.json");
        if (!Files.isRegularFile(file)) {
            throw new DistillException("no importance scores at " + file + ": run ./distill importance --model " + model
                    + " first, or give --importance FILE");
        }
        Checkpoint full = Checkpoint.load(model.toString());
        Checkpoint pruned = StructuredPruning.apply(full, Importance.read(file), heads, ffn);
        HfModelDirectory.write(pruned, out, ConvertCommand.taskHead(model));
        ConvertCommand.deriveInfo(model, out, String.format("pruned heads %s ffn %s", heads, ffn));
        System.out.printf("kept %d of %d heads and %d of %d neurons in each of %d layers; wrote %s%n",
                pruned.config().numAttentionHeads(), full.config().numAttentionHeads(),
                pruned.config().intermediateSize(), full.config().intermediateSize(),
                pruned.config().numHiddenLayers(), out);
    }
}
