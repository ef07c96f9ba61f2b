package org.distill4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.distill4j.loss.CosineLoss;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Examples;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.train.TrainingListener;
import org.distill4j.weights.Checkpoint;

/**
 * One DistilBERT-style distillation training step through the real {@link Trainer}: bge-small-en-v1.5
 * (12 layers, hidden 384) as frozen teacher, a 6-layer student of the same width, batch 32 × 128
 * tokens, loss 0.5·CE + 0.5·T²·KL (T = 2) + cosine on the last hidden states, AdamW with clipping.
 * {@code scripts/bench/distill_step.py} is the same computation in plain PyTorch. Not a test:
 * {@code scripts/bench/step-vs-pytorch.sh} runs the two, interleaved.
 */
public final class DistillationBenchmark {

    /** Updates run before the measured ones, as distill_step.py runs three. */
    private static final int WARM_UP = 3;

    private DistillationBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("leak")) {
            memory(args.length > 1 ? Integer.parseInt(args[1]) : 3000);
            return;
        }
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Checkpoint ckpt = Checkpoint.load("builtin:bge-small-en-v1.5");
        Engine.getInstance().setRandomSeed(1);
        Path dir = Files.createTempDirectory("distill-bench");
        try (NDManager root = NDManager.newBaseManager();
                BertModel teacher = ckpt.toModel(root, new BertModel.Heads(false, false, 2));
                BertModel student = BertModel.create(ckpt.config().withLayers(6), new BertModel.Heads(false, false, 2),
                        root);
                BertTokenizer tok = ckpt.tokenizer(128)) {
            var terms = List.of(WeightedTerm.of(new HardLabelLoss(), 0.5f), WeightedTerm.of(new SoftTargetLoss(2f), 0.5f),
                    WeightedTerm.of(new CosineLoss(LayerMapping.explicit(new int[] {6}, new int[] {12})), 1f));
            // One run of WARM_UP + steps updates; every batch is 32 × 128 tokens (texts are truncated).
            // Each update is timed from the end of the one before, as distill_step.py times its step.
            TrainerOptions o = TrainerOptions.builder(dir.resolve("run"), "bench").epochs(1).batchSize(32)
                    .learningRate(1e-4f).checkpointEvery(0).logEvery(1000).seed(1).cacheTeacher(false).build();
            Trainer trainer = new Trainer(o, student, teacher, tok, terms, false, examples(32 * (WARM_UP + steps)),
                    m -> new Trainer.Score(0, Map.of(), "-"), (m, e) -> {}, "bench");
            List<Double> ms = new ArrayList<>();
            long[] last = {0};
            trainer.listen(new TrainingListener() {
                @Override
                public void updated(Update u) {
                    long now = System.nanoTime();
                    if (u.step() > WARM_UP) {
                        ms.add((now - last[0]) / 1e6);
                    }
                    last[0] = now;
                }
            });
            trainer.run(false);
            List<Double> sorted = ms.stream().sorted().toList();
            double mean = ms.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double median = (sorted.get((sorted.size() - 1) / 2) + sorted.get(sorted.size() / 2)) / 2;
            System.out.printf("distill4j (DJL %s, PyTorch %s): mean %.0f, median %.0f ms/step over %d steps (min %.0f, "
                    + "max %.0f)%n", Engine.getDjlVersion(), Engine.getEngine("PyTorch").getVersion(), mean, median,
                    ms.size(), sorted.get(0), sorted.get(sorted.size() - 1));
        }
    }

    /**
     * Resident memory of the process over a long run of the real trainer with every kind of loss
     * term (hard, soft, hidden MSE through a learned projection, attention KL), on small random
     * models so that thousands of steps take minutes. Memory is sampled at each evaluation.
     */
    static void memory(int steps) throws Exception {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2"); // for its tokenizer and vocabulary
        Engine.getInstance().setRandomSeed(1);
        Path dir = Files.createTempDirectory("distill-leak");
        int vocab = ckpt.config().vocabSize();
        try (NDManager root = NDManager.newBaseManager();
                BertModel teacher = BertModel.create(org.distill4j.model.BertConfig.of(vocab, 128, 2, 4, 256),
                        new BertModel.Heads(false, false, 2), root);
                BertModel student = BertModel.create(org.distill4j.model.BertConfig.of(vocab, 64, 1, 4, 128),
                        new BertModel.Heads(false, false, 2), root);
                BertTokenizer tok = ckpt.tokenizer(32)) {
            var terms = List.of(WeightedTerm.of(new HardLabelLoss(), 0.5f), WeightedTerm.of(new SoftTargetLoss(2f), 0.5f),
                    WeightedTerm.of(new org.distill4j.loss.HiddenMseLoss("hidden_mse", LayerMapping.explicit(
                            new int[] {1}, new int[] {2}), 64, 128, root), 1f),
                    WeightedTerm.of(new org.distill4j.loss.AttentionLoss(LayerMapping.explicit(new int[] {1},
                            new int[] {2}), org.distill4j.loss.AttentionLoss.Kind.PROBS_KL), 1f));
            System.out.println("| step | RSS (MiB) |");
            System.out.println("|---|---|");
            TrainerOptions o = TrainerOptions.builder(dir.resolve("leak"), "leak").epochs(1).batchSize(8)
                    .learningRate(1e-4f).evalEvery(steps / 10).checkpointEvery(0).logEvery(1000).seed(1)
                    .cacheTeacher(false).build();
            int[] evals = {0};
            new Trainer(o, student, teacher, tok, terms, false, shortExamples(8 * steps), m -> {
                evals[0]++;
                System.out.printf("| %d | %d |%n", evals[0] * (steps / 10), rssMiB());
                return new Trainer.Score(0, Map.of(), "-");
            }, (m, e) -> {}, "leak").run(false);
        }
    }

    private static long rssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return -1;
    }

    private static Examples shortExamples(int n) {
        List<String> texts = new ArrayList<>();
        float[] labels = new float[n];
        for (int i = 0; i < n; i++) {
            texts.add("example " + i + " of a short sentence with " + (i % 7) + " extra words".repeat(1 + i % 3));
            labels[i] = i % 2;
        }
        return new Examples(texts, null, labels);
    }

    private static Examples examples(int n) {
        String base = "the film is a quiet study of grief and the small ways people find to go on living after "
                + "a loss they cannot name ";
        List<String> texts = new ArrayList<>();
        float[] labels = new float[n];
        for (int i = 0; i < n; i++) {
            texts.add(i + " " + base.repeat(8));
            labels[i] = i % 2;
        }
        return new Examples(texts, null, labels);
    }
}
