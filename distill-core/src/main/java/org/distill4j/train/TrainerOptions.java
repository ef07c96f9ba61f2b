package org.distill4j.train;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How to train: what every stage of a plan uses unless the stage says otherwise ({@link Stage}).
 * Build with {@link #builder}; every default is named once, here.
 *
 * @param epochs passes over the training data
 * @param batchSize examples per micro-batch
 * @param learningRate peak learning rate of the linear warm-up and decay
 * @param weightDecay AdamW's decoupled decay (not on biases and LayerNorm)
 * @param warmupFraction share of the updates spent warming up the learning rate
 * @param maxGradNorm clip the global gradient norm to this (0: no clipping)
 * @param accumulation micro-batches per update (the effective batch is batchSize × accumulation)
 * @param evalEvery evaluate every this many updates; 0 evaluates at the end of every epoch
 * @param checkpointEvery also checkpoint every this many updates (0: only at evaluations)
 * @param checkpointInterval the longest a run goes without a checkpoint: on a CPU an update takes
 *     milliseconds for a small student and seconds for BERT-base, and a crash (or a session's end)
 *     should never cost more than this; checkpoints do not change the result
 * @param logEvery write the mean loss terms to {@code metrics.jsonl} every this many updates
 * @param seed decides initialisation of new parameters, data order, dropout and masking
 * @param cacheTeacher compute the teacher's outputs once per example when the terms read only
 *     logits, [CLS] vectors or hidden states of it ({@link TeacherCache})
 * @param out the run directory (checkpoint/, metrics.jsonl)
 * @param identity what a checkpoint must have been written by to be resumed (a config hash)
 * @param precision fp32, or fp16 mixed precision with fp32 master weights ({@link MixedPrecision})
 * @param teacherCacheDir where cached teacher outputs are also kept on disk, so that a resumed run
 *     or another student of the same teacher and data skips the teacher pass; null keeps them in
 *     memory only
 * @param teacherOutputs teacher outputs computed elsewhere (a Spark job's Parquet shards) that
 *     replace the teacher pass for stages whose terms read only logits, [CLS] vectors or hidden
 *     states; null to run the teacher here
 */
public record TrainerOptions(int epochs, int batchSize, float learningRate, float weightDecay, double warmupFraction,
        float maxGradNorm, int accumulation, int evalEvery, int checkpointEvery, Duration checkpointInterval,
        int logEvery, long seed, boolean cacheTeacher, Path out, String identity, Precision precision,
        Path teacherCacheDir, TeacherCache.Provided teacherOutputs) {

    /** BERT's fine-tuning recipe (Devlin et al. 2019, appendix A.3) searched 2–4 epochs. */
    public static final int EPOCHS = 3;
    /** Examples per micro-batch. */
    public static final int BATCH_SIZE = 32;
    /** Examples per forward pass when only scoring (no activations kept for a backward pass). */
    public static final int EVAL_BATCH_SIZE = 64;
    /** Peak learning rate: the highest of BERT's fine-tuning search {5e-5, 3e-5, 2e-5}. */
    public static final double LEARNING_RATE = 5e-5;
    public static final double WEIGHT_DECAY = 0.01;
    public static final double WARMUP_FRACTION = 0.1;
    public static final double MAX_GRAD_NORM = 1.0;
    /** Updates between checkpoints, besides evaluations and {@link #CHECKPOINT_INTERVAL}. */
    public static final int CHECKPOINT_EVERY = 200;
    public static final Duration CHECKPOINT_INTERVAL = Duration.ofMinutes(10);
    public static final int LOG_EVERY = 50;
    public static final long SEED = 42;

    public TrainerOptions {
        if (epochs < 1 || batchSize < 1 || accumulation < 1 || logEvery < 1 || evalEvery < 0
                || checkpointEvery < 0) {
            throw new IllegalArgumentException("need epochs, batch size, accumulation, log interval >= 1 and "
                    + "evaluation and checkpoint intervals >= 0");
        }
        if (precision == null || out == null || identity == null || checkpointInterval == null
                || checkpointInterval.isNegative()) {
            throw new IllegalArgumentException("precision, the run directory, the identity and a checkpoint interval "
                    + ">= 0 are required");
        }
    }

    /** Options with every default, writing to {@code out}; a checkpoint is resumed only by the same {@code identity}. */
    public static Builder builder(Path out, String identity) {
        return new Builder(out, identity);
    }

    /** A builder preset with these options. */
    public Builder toBuilder() {
        Builder b = new Builder(out, identity);
        b.epochs = epochs;
        b.batchSize = batchSize;
        b.learningRate = learningRate;
        b.weightDecay = weightDecay;
        b.warmupFraction = warmupFraction;
        b.maxGradNorm = maxGradNorm;
        b.accumulation = accumulation;
        b.evalEvery = evalEvery;
        b.checkpointEvery = checkpointEvery;
        b.checkpointInterval = checkpointInterval;
        b.logEvery = logEvery;
        b.seed = seed;
        b.cacheTeacher = cacheTeacher;
        b.precision = precision;
        b.teacherCacheDir = teacherCacheDir;
        b.teacherOutputs = teacherOutputs;
        return b;
    }

    /** Sets what differs from the defaults. */
    public static final class Builder {
        private final Path out;
        private final String identity;
        private int epochs = EPOCHS;
        private int batchSize = BATCH_SIZE;
        private float learningRate = (float) LEARNING_RATE;
        private float weightDecay = (float) WEIGHT_DECAY;
        private double warmupFraction = WARMUP_FRACTION;
        private float maxGradNorm = (float) MAX_GRAD_NORM;
        private int accumulation = 1;
        private int evalEvery;
        private int checkpointEvery = CHECKPOINT_EVERY;
        private Duration checkpointInterval = CHECKPOINT_INTERVAL;
        private int logEvery = LOG_EVERY;
        private long seed = SEED;
        private boolean cacheTeacher = true;
        private Precision precision = Precision.FP32;
        private Path teacherCacheDir;
        private TeacherCache.Provided teacherOutputs;

        private Builder(Path out, String identity) {
            this.out = out;
            this.identity = identity;
        }

        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder learningRate(float v) {
            learningRate = v;
            return this;
        }

        public Builder weightDecay(float v) {
            weightDecay = v;
            return this;
        }

        public Builder warmupFraction(double v) {
            warmupFraction = v;
            return this;
        }

        public Builder maxGradNorm(float v) {
            maxGradNorm = v;
            return this;
        }

        public Builder accumulation(int v) {
            accumulation = v;
            return this;
        }

        public Builder evalEvery(int v) {
            evalEvery = v;
            return this;
        }

        public Builder checkpointEvery(int v) {
            checkpointEvery = v;
            return this;
        }

        public Builder checkpointInterval(Duration v) {
            checkpointInterval = v;
            return this;
        }

        public Builder logEvery(int v) {
            logEvery = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder cacheTeacher(boolean v) {
            cacheTeacher = v;
            return this;
        }

        public Builder precision(Precision v) {
            precision = v;
            return this;
        }

        public Builder teacherCacheDir(Path v) {
            teacherCacheDir = v;
            return this;
        }

        public Builder teacherOutputs(TeacherCache.Provided v) {
            teacherOutputs = v;
            return this;
        }

        public TrainerOptions build() {
            return new TrainerOptions(epochs, batchSize, learningRate, weightDecay, warmupFraction, maxGradNorm,
                    accumulation, evalEvery, checkpointEvery, checkpointInterval, logEvery, seed, cacheTeacher, out,
                    identity, precision, teacherCacheDir, teacherOutputs);
        }
    }
}
