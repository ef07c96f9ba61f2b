package org.distill4j.cli;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.distill4j.model.BertModel;
import org.distill4j.model.FillMask;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Predicts masked words with a model's masked-LM head. */
@Command(name = "fill-mask", description = "Rank the words that could stand at each [MASK].")
final class FillMaskCommand implements Runnable {

    @Option(names = "--model", defaultValue = "builtin:bert-base-uncased", paramLabel = "MODEL",
            description = "a model with a masked-LM head (default builtin:bert-base-uncased)")
    String model;

    @Option(names = "--top", defaultValue = "5", description = "candidates to show per mask (default 5)")
    int top;

    @Parameters(paramLabel = "TEXT", description = "text with one or more [MASK] tokens")
    String text;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Checkpoint ckpt = Checkpoint.load(model);
        try (NDManager m = NDManager.newBaseManager(device.resolve());
                BertModel bert = ckpt.toModel(m);
                BertTokenizer tok = ckpt.tokenizer(512)) {
            List<List<FillMask.Candidate>> all = new FillMask(bert, tok).fill(text, top);
            for (int i = 0; i < all.size(); i++) {
                System.out.println("[MASK] #" + (i + 1));
                for (FillMask.Candidate c : all.get(i)) {
                    System.out.printf("  %-16s %.4f%n", c.token(), c.probability());
                }
            }
        }
    }
}
