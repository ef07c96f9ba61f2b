package org.distill4j.glue;

import java.nio.file.Path;
import java.util.Objects;
import org.distill4j.model.LoraConfig;
import org.distill4j.train.DeviceChoice;
import org.distill4j.train.Precision;

/**
 * Settings of a teacher fine-tuning run. Defaults follow BERT's fine-tuning recipe (Devlin et al.
 * 2019, section 4): AdamW, 10% linear warm-up then linear decay, weight decay 0.01, gradient norm
 * clipped to 1.
 *
 * @param model the model to start from (any name {@code Checkpoint.load} accepts)
 * @param task the GLUE task
 * @param epochs passes over the training set
 * @param learningRate peak learning rate
 * @param batchSize examples per step
 * @param maxLength tokens per example, truncated longest-first
 * @param seed drives data order, head initialisation and dropout
 * @param out run directory: {@code best/}, {@code checkpoint/}, {@code metrics.jsonl}
 * @param glueDir GLUE data directory
 * @param skipBadRows skip malformed rows instead of stopping
 * @param trainLimit use only the first this many training examples (0 = all)
 * @param checkpointEvery steps between checkpoints within an epoch (0 = only at epoch ends)
 * @param device where to train
 * @param precision fp32, or fp16 mixed precision
 * @param lora low-rank adapters on a frozen backbone, or null to train every weight
 */
public record FineTuneConfig(String model, GlueTask task, int epochs, float learningRate, int batchSize,
        int maxLength, long seed, Path out, Path glueDir, boolean skipBadRows, int trainLimit, int checkpointEvery,
        DeviceChoice device, Precision precision, LoraConfig lora) {

    public FineTuneConfig {
        if (epochs < 1) {
            throw new IllegalArgumentException("--epochs must be at least 1, got " + epochs);
        }
        if (!(learningRate > 0 && learningRate < 1)) {
            throw new IllegalArgumentException("--lr must be in (0, 1), got " + learningRate);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        }
        if (maxLength < 8 || maxLength > 512) {
            throw new IllegalArgumentException("--max-length must be in [8, 512], got " + maxLength);
        }
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(precision, "precision");
    }

    /** Every weight trains. */
    public FineTuneConfig(String model, GlueTask task, int epochs, float learningRate, int batchSize, int maxLength,
            long seed, Path out, Path glueDir, boolean skipBadRows, int trainLimit, int checkpointEvery,
            DeviceChoice device, Precision precision) {
        this(model, task, epochs, learningRate, batchSize, maxLength, seed, out, glueDir, skipBadRows, trainLimit,
                checkpointEvery, device, precision, null);
    }

    /** On the GPU if there is one, in fp32. */
    public FineTuneConfig(String model, GlueTask task, int epochs, float learningRate, int batchSize, int maxLength,
            long seed, Path out, Path glueDir, boolean skipBadRows, int trainLimit, int checkpointEvery) {
        this(model, task, epochs, learningRate, batchSize, maxLength, seed, out, glueDir, skipBadRows, trainLimit,
                checkpointEvery, DeviceChoice.AUTO, Precision.FP32);
    }

    /**
     * What a checkpoint must have been written by to be resumed: every setting that changes the
     * result. Not the device, so that a run started on one machine may finish on another.
     */
    public String identity() {
        return "FineTuneConfig[model=" + model + ", task=" + task + ", epochs=" + epochs + ", learningRate="
                + learningRate + ", batchSize=" + batchSize + ", maxLength=" + maxLength + ", seed=" + seed + ", out="
                + out + ", glueDir=" + glueDir + ", skipBadRows=" + skipBadRows + ", trainLimit=" + trainLimit
                + ", checkpointEvery=" + checkpointEvery
                + (precision == Precision.FP32 ? "" : ", precision=" + precision)
                + (lora == null ? "" : ", lora=" + lora) + "]";
    }
}
