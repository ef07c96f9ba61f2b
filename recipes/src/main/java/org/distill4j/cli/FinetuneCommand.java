package org.distill4j.cli;

import java.nio.file.Path;
import java.util.List;
import org.distill4j.model.LoraConfig;
import org.distill4j.recipe.RunDirectory;
import org.distill4j.glue.FineTuneConfig;
import org.distill4j.glue.FineTuner;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.train.TrainerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Fine-tunes a teacher on a GLUE task. */
@Command(name = "finetune", description = "Fine-tune a model and a task head on a GLUE task; keeps the best epoch.")
final class FinetuneCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "builtin:NAME, .onnx or directory")
    String model;

    @Option(names = "--task", required = true, paramLabel = "TASK", description = "CoLA, SST-2, MRPC, STS-B, QQP, MNLI, "
            + "QNLI, RTE or WNLI")
    String task;

    @Option(names = "--epochs", defaultValue = "" + TrainerOptions.EPOCHS,
            description = "passes over the training set (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "" + TrainerOptions.LEARNING_RATE,
            description = "peak learning rate (default ${DEFAULT-VALUE})")
    float lr;

    @Option(names = "--batch-size", defaultValue = "" + TrainerOptions.BATCH_SIZE,
            description = "examples per step (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "" + GlueTraining.MAX_LENGTH,
            description = "tokens per example (default ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--seed", defaultValue = "" + TrainerOptions.SEED,
            description = "data order, head init and dropout (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", description = "run directory (default runs/finetune-TASK)")
    Path out;

    @Mixin
    GlueDataOptions glue;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--train-limit", defaultValue = "0", description = "use only the first N training examples")
    int trainLimit;

    @Option(names = "--checkpoint-every", defaultValue = "" + TrainerOptions.CHECKPOINT_EVERY,
            description = "steps between checkpoints (default ${DEFAULT-VALUE})")
    int checkpointEvery;

    @Option(names = "--resume", description = "continue from DIR/checkpoint")
    boolean resume;

    @Option(names = "--overwrite", description = "replace the fine-tuning already in DIR (without it, a DIR that "
            + "holds one is refused)")
    boolean overwrite;

    @Option(names = "--lora-rank", paramLabel = "R", description = "train LoRA adapters of rank R on a frozen "
            + "backbone instead of every weight (8 is the usual choice)")
    Integer loraRank;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "scale the adapters' update by A / R "
            + "(default: 2 R)")
    Float loraAlpha;

    @Option(names = "--lora-targets", paramLabel = "NAMES", split = ",", description = "projections that get an "
            + "adapter, by HuggingFace module name (default: query,value)")
    List<String> loraTargets;

    @Option(names = "--lora-dropout", paramLabel = "P", description = "dropout on the adapters' input (default 0.1)")
    Float loraDropout;

    @Override
    public void run() {
        GlueTask t = GlueTask.parse(task);
        Path dir = out != null ? out : Path.of("runs", "finetune-" + t.dirName());
        RunDirectory.claimFineTune(dir, RunDirectory.Mode.of(resume, overwrite, dir));
        FineTuneConfig cfg = new FineTuneConfig(model, t, epochs, lr, batchSize, maxLength, seed, dir,
                glue.dir(), glue.skipBadRows, trainLimit, checkpointEvery, compute.device(), compute.precision(),
                lora());
        FineTuner.Result r = new FineTuner(cfg).run(resume);
        System.out.printf("%s %s: best epoch %d of %d, dev %s, %.0f s; model in %s%s%n", model, t, r.bestEpoch(),
                epochs, r.bestScore().summary(), r.seconds(), r.bestModel(),
                cfg.lora() == null ? "" : " (merged), adapter in " + dir.resolve("adapter"));
    }

    /** The LoRA setting the flags ask for, or null when no --lora-* flag is given. */
    LoraConfig lora() {
        if (loraRank == null && loraAlpha == null && loraTargets == null && loraDropout == null) {
            return null;
        }
        if (loraRank == null) {
            throw new IllegalArgumentException("--lora-alpha, --lora-targets and --lora-dropout need --lora-rank");
        }
        LoraConfig d = LoraConfig.DEFAULT;
        return new LoraConfig(loraRank, loraAlpha != null ? loraAlpha : LoraConfig.defaultAlpha(loraRank),
                loraDropout != null ? loraDropout : d.dropout(), loraTargets != null ? loraTargets : d.targets(),
                false, false);
    }
}
