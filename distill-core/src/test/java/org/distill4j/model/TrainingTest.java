package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.distill4j.GlueSample;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;

/** Autograd through the whole encoder, and a short real training run on SST-2. */
class TrainingTest {

    @Test
    void gradientsReachEveryParameter() {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<GlueSample.Text> texts = GlueSample.dev("MRPC", 3, 4, 4); // pairs: token type 1 is used
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(m, new BertModel.Heads(true, true, 2));
                BertTokenizer tok = ckpt.tokenizer(64)) {
            TokenBatch b = tok.batch(texts.stream().map(GlueSample.Text::first).toList(),
                    texts.stream().map(GlueSample.Text::second).toList());
            ParameterStore ps = new ParameterStore(m, false);
            try (NDManager step = m.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                EncoderOutput out = model.encode(ps, b.toInput(step), true);
                NDArray loss = model.classify(ps, out, true).logSoftmax(-1).get(":, 0").mean().neg()
                        .add(model.maskedLmLogits(ps, out.lastHidden(), true).logSoftmax(-1).get(":, :, 2023").mean()
                                .neg());
                gc.backward(loss);
                List<String> dead = new ArrayList<>();
                for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                    try (NDArray g = e.getValue().getArray().getGradient()) {
                        if (!(g.abs().sum().getFloat() > 0)) {
                            dead.add(e.getKey());
                        }
                    }
                }
                assertTrue(dead.isEmpty(), "no gradient reached " + dead);
                assertTrue(model.namedParameters().size() > 100);
            }
        }
    }

    @Test
    void fewDozenStepsOnSst2LowerTheLossAndBeatChance() {
        Engine.getInstance().setRandomSeed(7);
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<String[]> train = tsv("SST-2", "train.tsv", 40 * 16);
        List<String[]> dev = tsv("SST-2", "dev.tsv", 200);
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(m, new BertModel.Heads(false, false, 2));
                BertTokenizer tok = ckpt.tokenizer(64)) {
            ParameterStore ps = new ParameterStore(m, false);
            float[] losses = new float[40];
            // The trainer's optimizer (DJL's Adam spends more on its per-parameter bookkeeping than the
            // model spends on forward and backward here).
            try (org.distill4j.train.AdamW adam = new org.distill4j.train.AdamW(model.namedParameters(), 0.01f, m)) {
                for (int s = 0; s < 40; s++) {
                    List<String[]> rows = train.subList(s * 16, s * 16 + 16);
                    try (NDManager step = m.newSubManager()) {
                        TokenBatch b = tok.batch(rows.stream().map(r -> r[0]).toList(), null);
                        NDArray labels = step.create(rows.stream().mapToLong(r -> Long.parseLong(r[1])).toArray());
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray logits = model.classify(ps, model.encode(ps, b.toInput(step), true), true);
                            NDArray loss = logits.logSoftmax(-1).mul(labels.oneHot(2)).sum(new int[] {1}).mean().neg();
                            gc.backward(loss);
                            losses[s] = loss.getFloat();
                        }
                        adam.step(1e-4f, 0f);
                    }
                }
            }
            double first = mean(losses, 0, 10);
            double last = mean(losses, 30, 40);
            int correct = 0;
            for (int i = 0; i < dev.size(); i += 50) {
                List<String[]> rows = dev.subList(i, i + 50);
                try (NDManager step = m.newSubManager()) {
                    TokenBatch b = tok.batch(rows.stream().map(r -> r[0]).toList(), null);
                    long[] pred = model.classify(ps, model.encode(ps, b.toInput(step), false), false).argMax(1)
                            .toLongArray();
                    for (int j = 0; j < rows.size(); j++) {
                        correct += pred[j] == Long.parseLong(rows.get(j)[1]) ? 1 : 0;
                    }
                }
            }
            double acc = correct / (double) dev.size();
            System.out.printf("SST-2 40 steps: loss %.3f -> %.3f, dev accuracy on 200: %.3f%n", first, last, acc);
            assertTrue(last < first * 0.8, "loss should fall: first ten " + first + ", last ten " + last);
            // Chance is about 0.51 on SST-2 dev (σ ≈ 0.035 on 200 examples); 0.65 is four σ above it.
            assertTrue(acc > 0.65, "dev accuracy " + acc);
        }
    }

    private static double mean(float[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += a[i];
        }
        return s / (to - from);
    }

    private static List<String[]> tsv(String task, String file, int n) {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(GlueSample.glueDir().resolve(task).resolve(file));
            return lines.subList(1, 1 + n).stream().map(l -> l.split("\t", -1)).toList();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
