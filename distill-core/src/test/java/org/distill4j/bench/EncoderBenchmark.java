package org.distill4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distill4j.GlueSample;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.MaskedLmAccuracy;
import org.distill4j.model.QuantizationAware;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;

/**
 * Speed of the DJL encoder against ONNX Runtime on the same weights and tokens, train-step time
 * of a small encoder, and BERT-base masked-LM accuracy. Not a test: run it with
 * {@code mvn -q -pl distill-core test-compile exec:java -Dexec.mainClass=org.distill4j.bench.EncoderBenchmark}
 * and copy its markdown into docs/results/encoder-cpu.md.
 *
 * <p>Each timing is the median of several repetitions after warm-up. Both engines use two
 * intra-op threads (the machine has two cores).
 */
public final class EncoderBenchmark {

    private EncoderBenchmark() {}

    public static void main(String[] args) throws Exception {
        String only = args.length > 0 ? args[0] : "all";
        if (only.equals("all") || only.equals("forward")) {
            System.out.println("| model | workload | DJL (ms/batch) | ORT (ms/batch) | DJL/ORT |");
            System.out.println("|---|---|---|---|---|");
            for (String[] m : new String[][] {{"builtin:all-minilm-l6-v2", "all-minilm-l6-v2.onnx"},
                    {"builtin:bge-small-en-v1.5", "bge-small-en-v1.5.onnx"}}) {
                forward(m[0], m[1]);
            }
        }
        if (only.equals("all") || only.equals("train")) {
            trainStep();
        }
        if (only.equals("all") || only.equals("mlm")) {
            maskedLm();
        }
        if (only.equals("leak")) {
            memory(args.length > 1 ? Integer.parseInt(args[1]) : 3000, args.length > 2 && args[2].equals("qat"));
        }
    }

    static void forward(String name, String resource) throws Exception {
        Checkpoint ckpt = Checkpoint.load(name);
        byte[] onnx;
        try (InputStream in = EncoderBenchmark.class.getClassLoader().getResourceAsStream(resource)) {
            onnx = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(m, BertModel.Heads.NONE);
                BertTokenizer tok = ckpt.tokenizer(128);
                OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            opts.setInterOpNumThreads(1);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(onnx, opts)) {
                ParameterStore ps = new ParameterStore(m, false);
                // Fixed 32 x 128, every position a real token.
                Random r = new Random(1);
                long[] ids = new long[32 * 128];
                long[] types = new long[ids.length];
                long[] mask = new long[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i % 128 == 0 ? 101 : 1000 + r.nextInt(29000);
                    mask[i] = 1;
                }
                TokenBatch fixed = new TokenBatch(ids, types, mask, 32, 128);
                double djl = median(5, () -> djl(model, ps, fixed));
                double ort = median(5, () -> ort(env, session, fixed));
                row(name, "batch 32 x seq 128", djl, ort);

                // SST-2 dev, all 872 sentences, length-bucketed batches of 32 with dynamic padding.
                List<String> sst = Files.readAllLines(GlueSample.glueDir().resolve("SST-2/dev.tsv")).stream().skip(1)
                        .map(l -> l.split("\t")[0]).sorted(Comparator.comparingInt(String::length)).toList();
                List<TokenBatch> batches = new ArrayList<>();
                for (int i = 0; i < sst.size(); i += 32) {
                    batches.add(tok.batch(sst.subList(i, Math.min(sst.size(), i + 32)), null));
                }
                double djlAll = median(3, () -> batches.forEach(b -> djl(model, ps, b)));
                double ortAll = median(3, () -> batches.forEach(b -> ort(env, session, b)));
                row(name, "SST-2 dev, 872 sentences, dynamic padding (ms total)", djlAll, ortAll);

                // MRPC dev pairs, 408, same bucketing.
                List<GlueSample.Text> mrpc = new ArrayList<>(GlueSample.dev("MRPC", 3, 4, 408));
                mrpc.sort(Comparator.comparingInt(t -> t.first().length() + t.second().length()));
                List<TokenBatch> pairs = new ArrayList<>();
                for (int i = 0; i < mrpc.size(); i += 32) {
                    List<GlueSample.Text> s = mrpc.subList(i, Math.min(mrpc.size(), i + 32));
                    pairs.add(tok.batch(s.stream().map(GlueSample.Text::first).toList(),
                            s.stream().map(GlueSample.Text::second).toList()));
                }
                double djlPairs = median(3, () -> pairs.forEach(b -> djl(model, ps, b)));
                double ortPairs = median(3, () -> pairs.forEach(b -> ort(env, session, b)));
                row(name, "MRPC dev, 408 pairs, dynamic padding (ms total)", djlPairs, ortPairs);
            }
        }
    }

    static void djl(BertModel model, ParameterStore ps, TokenBatch b) {
        try (NDManager step = model.manager().newSubManager()) {
            model.encode(ps, b.toInput(step), false).lastHidden().toFloatArray();
        }
    }

    static void ort(OrtEnvironment env, OrtSession session, TokenBatch b) {
        long[] shape = {b.batchSize(), b.sequenceLength()};
        try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(b.inputIds()), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(b.attentionMask()), shape);
                OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(b.tokenTypeIds()), shape);
                OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                        "token_type_ids", types))) {
            ((OnnxTensor) r.get(0)).getFloatBuffer();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void trainStep() {
        Engine.getInstance().setRandomSeed(3);
        BertConfig cfg = BertConfig.of(30522, 384, 4, 12, 1536);
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(cfg, new BertModel.Heads(false, false, 2), m)) {
            Optimizer adam = Optimizer.adamW().optLearningRateTracker(Tracker.fixed(1e-4f)).build();
            ParameterStore ps = new ParameterStore(m, false);
            Random r = new Random(2);
            long[] ids = new long[32 * 128];
            long[] mask = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1000 + r.nextInt(29000);
                mask[i] = 1;
            }
            TokenBatch b = new TokenBatch(ids, new long[ids.length], mask, 32, 128);
            long[] labels = new long[32];
            for (int i = 0; i < 32; i++) {
                labels[i] = i % 2;
            }
            double[][] t = new double[13][3];
            for (int s = 0; s < t.length; s++) {
                try (NDManager step = m.newSubManager()) {
                    NDArray y = step.create(labels).oneHot(2);
                    long t0 = System.nanoTime();
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = model.classify(ps, model.encode(ps, b.toInput(step), true), true);
                        NDArray loss = logits.logSoftmax(-1).mul(y).sum(new int[] {1}).mean().neg();
                        loss.getFloat();
                        long t1 = System.nanoTime();
                        gc.backward(loss);
                        model.namedParameters().values().iterator().next().getArray().getGradient().getFloat(0, 0);
                        long t2 = System.nanoTime();
                        for (Parameter p : model.namedParameters().values()) {
                            adam.update(p.getId(), p.getArray(), p.getArray().getGradient());
                        }
                        model.namedParameters().values().iterator().next().getArray().getFloat(0, 0);
                        long t3 = System.nanoTime();
                        t[s] = new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6};
                    }
                }
            }
            double f = medianOf(t, 0);
            double bwd = medianOf(t, 1);
            double o = medianOf(t, 2);
            System.out.printf("%n| train step, 4 layers, hidden 384, 12 heads, FFN 1536, batch 32 x 128 | ms |%n");
            System.out.printf("|---|---|%n| forward | %.0f |%n| backward | %.0f |%n| AdamW update | %.0f |%n"
                    + "| total | %.0f |%n", f, bwd, o, f + bwd + o);
        }
    }

    static void maskedLm() throws Exception {
        List<String> sentences = new ArrayList<>();
        GlueSample.dev("SST-2", 0, -1, 250).forEach(t -> sentences.add(t.first()));
        GlueSample.dev("MRPC", 3, -1, 250).forEach(t -> sentences.add(t.first()));
        Checkpoint ckpt = Checkpoint.load("builtin:bert-base-uncased");
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(m);
                BertTokenizer tok = ckpt.tokenizer(128)) {
            MaskedLmAccuracy.Result all = MaskedLmAccuracy.evaluate(model, tok, sentences, 0.15, 42, 25);
            MaskedLmAccuracy.Result sst = MaskedLmAccuracy.evaluate(model, tok, sentences.subList(0, 250), 0.15, 42, 25);
            MaskedLmAccuracy.Result mrpc = MaskedLmAccuracy.evaluate(model, tok, sentences.subList(250, 500), 0.15, 42,
                    25);
            System.out.printf("%n| sentences | masked pieces | top-1 correct | accuracy |%n|---|---|---|---|%n");
            System.out.printf("| SST-2 dev first 250 | %d | %d | %.3f |%n", sst.masked(), sst.correct(), sst.accuracy());
            System.out.printf("| MRPC dev first 250 (sentence 1) | %d | %d | %.3f |%n", mrpc.masked(), mrpc.correct(),
                    mrpc.accuracy());
            System.out.printf("| all 500 | %d | %d | %.3f |%n", all.masked(), all.correct(), all.accuracy());
        }
    }

    private static void row(String model, String workload, double djl, double ort) {
        System.out.printf("| %s | %s | %.0f | %.0f | %.2fx |%n", model, workload, djl, ort, djl / ort);
    }

    private static double median(int reps, Runnable r) {
        r.run(); // warm-up
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        java.util.Arrays.sort(t);
        return t[reps / 2];
    }

    private static double medianOf(double[][] t, int col) {
        double[] v = new double[t.length - 3]; // first three steps are warm-up
        for (int i = 3; i < t.length; i++) {
            v[i - 3] = t[i][col];
        }
        java.util.Arrays.sort(v);
        return v[v.length / 2];
    }

    /**
     * Resident memory over thousands of training steps (forward, backward, AdamW) on real SST-2
     * batches with dynamic padding, so every step has a new shape. Flat RSS means every step's
     * arrays are freed when its sub-manager closes. {@code qat}: the model trains int8-aware
     * ({@link QuantizationAware}).
     */
    static void memory(int steps, boolean qat) throws Exception {
        Engine.getInstance().setRandomSeed(5);
        List<String[]> rows = Files.readAllLines(GlueSample.glueDir().resolve("SST-2/train.tsv")).stream().skip(1)
                .map(l -> l.split("\t")).toList();
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        BertConfig cfg = BertConfig.of(30522, 128, 2, 4, 512);
        System.out.printf("%n| step | RSS (MiB) | Java heap used (MiB) | loss (mean of last 500) |%n|---|---|---|---|%n");
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(cfg, new BertModel.Heads(false, false, 2), m);
                BertTokenizer tok = ckpt.tokenizer(64)) {
            if (qat) {
                QuantizationAware.attach(model, false);
            }
            Optimizer adam = Optimizer.adamW().optLearningRateTracker(Tracker.fixed(1e-3f)).build();
            ParameterStore ps = new ParameterStore(m, false);
            double lossSum = 0;
            for (int s = 0; s <= steps; s++) {
                if (s % 500 == 0) {
                    Runtime rt = Runtime.getRuntime();
                    System.out.printf("| %d | %d | %d | %s |%n", s, rssMiB(), (rt.totalMemory() - rt.freeMemory()) >> 20, s == 0 ? "-" : String.format("%.3f",
                            lossSum / 500));
                    lossSum = 0;
                }
                if (s == steps) {
                    break;
                }
                int start = (s * 16) % (rows.size() - 16);
                List<String[]> batch = rows.subList(start, start + 16);
                try (NDManager step = m.newSubManager()) {
                    TokenBatch b = tok.batch(batch.stream().map(r -> r[0]).toList(), null);
                    NDArray y = step.create(batch.stream().mapToLong(r -> Long.parseLong(r[1])).toArray()).oneHot(2);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = model.classify(ps, model.encode(ps, b.toInput(step), true), true);
                        NDArray loss = logits.logSoftmax(-1).mul(y).sum(new int[] {1}).mean().neg();
                        gc.backward(loss);
                        lossSum += loss.getFloat();
                        for (Parameter p : model.namedParameters().values()) {
                            // getGradient() returns a new handle owned by the parameter's long-lived manager.
                            try (NDArray g = p.getArray().getGradient()) {
                                adam.update(p.getId(), p.getArray(), g);
                            }
                        }
                    }
                }
            }
        }
    }

    private static long rssMiB() throws Exception {
        for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
            }
        }
        return -1;
    }
}
