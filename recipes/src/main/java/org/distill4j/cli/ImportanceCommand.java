package org.distill4j.cli;

import java.nio.file.Path;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.prune.Importance;
import org.distill4j.prune.Rewiring;
import org.distill4j.train.Examples;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Head and neuron importance of a fine-tuned model, and the model rewired by it. */
@Command(name = "importance", description = "Score every attention head and FFN neuron of a fine-tuned model by "
        + "|dL/dmask| on the task's training data (JSON); optionally write the model rewired, most important first.")
final class ImportanceCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a fine-tuned model directory")
    Path model;

    @Option(names = "--task", paramLabel = "TASK", description = "the task (default: from DIR/distill.json)")
    String task;

    @Option(names = "--out", paramLabel = "FILE", description = "scores (default DIR/importance.json)")
    Path out;

    @Option(names = "--rewired", paramLabel = "DIR", description = "also write the model with each layer's heads and "
            + "neurons in order of importance (the same function; DynaBERT's starting point)")
    Path rewired;

    @Option(names = "--train-limit", defaultValue = "0", description = "use the first N training examples (0 = all)")
    int trainLimit;

    @Option(names = "--batch-size", defaultValue = "32", description = "examples per forward (default ${DEFAULT-VALUE})")
    int batchSize;

    @Mixin
    GlueDataOptions glue;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        GlueTask t = GlueTraining.task(model, task);
        Dataset train = GlueReader.read(glue.dir(), t, t.train(), glue.skipBadRows);
        Examples data = GlueTraining.examples(train, trainLimit);
        Checkpoint ckpt = Checkpoint.load(model.toString());
        Importance imp = Importance.measure(ckpt, GlueTraining.maxLength(model), data, t.isRegression(), batchSize,
                device.resolve());
        Path file = out != null ? out : model.resolve("importance.json");
        imp.write(file);
        System.out.printf("importance of %d heads and %d neurons per layer over %d %s training examples: %s%n",
                imp.heads()[0].length, imp.neurons()[0].length, imp.examples(), t, file);
        if (rewired != null) {
            HfModelDirectory.write(Rewiring.apply(ckpt, imp), rewired, ConvertCommand.taskHead(model));
            ConvertCommand.deriveInfo(model, rewired, "rewired");
            System.out.println("rewired model: " + rewired);
        }
    }
}
