package org.distill4j.serve.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.distill4j.serve.Backend;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.TextEmbedder;

/**
 * Quantized embedding models against their fp32 reference on real texts: the cosine of each
 * text's normalised mean-pooled vector with the reference's (mean and worst), and texts/s through
 * ONNX Runtime in batches of 32, three timed passes after a warm-up, the best kept.
 *
 * <p>Arguments: {@code TSV COLUMN TEXTS REFERENCE LABEL=MODEL ...}; models are ONNX files or
 * directories holding model.onnx, the reference included.
 */
public final class EmbeddingAgreementBenchmark {

    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        int column = Integer.parseInt(args[1]);
        int count = Integer.parseInt(args[2]);
        List<String> texts = new ArrayList<>();
        for (String line : lines.subList(1, Math.min(lines.size(), count + 1))) {
            texts.add(line.split("\t", -1)[column]);
        }
        InferenceOptions onnx = InferenceOptions.defaults().withBackend(Backend.ONNX).withMaxLength(128);
        float[][] reference;
        try (TextEmbedder ref = TextEmbedder.load(args[3], Pooling.MEAN, true, onnx)) {
            reference = ref.embed(texts);
            System.out.printf("| model | file MB | texts/s | mean cosine with fp32 | worst cosine |%n|---|---|---|---|---|%n");
            System.out.printf("| fp32 reference | %.1f | %.1f | 1 | 1 |%n", size(args[3]), speed(ref, texts));
        }
        for (String spec : Arrays.copyOfRange(args, 4, args.length)) {
            String label = spec.substring(0, spec.indexOf('='));
            String model = spec.substring(spec.indexOf('=') + 1);
            try (TextEmbedder e = TextEmbedder.load(model, Pooling.MEAN, true, onnx)) {
                float[][] v = e.embed(texts);
                double sum = 0;
                double worst = 1;
                for (int i = 0; i < v.length; i++) {
                    double c = 0;
                    for (int d = 0; d < v[i].length; d++) {
                        c += (double) v[i][d] * reference[i][d];
                    }
                    sum += c;
                    worst = Math.min(worst, c);
                }
                System.out.printf("| %s | %.1f | %.1f | %.5f | %.5f |%n", label, size(model), speed(e, texts),
                        sum / v.length, worst);
            }
        }
    }

    private static double speed(TextEmbedder e, List<String> texts) {
        e.embed(texts);
        double best = 0;
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            e.embed(texts);
            best = Math.max(best, texts.size() / ((System.nanoTime() - t0) / 1e9));
        }
        return best;
    }

    private static double size(String model) throws Exception {
        Path p = Path.of(model);
        return Files.size(Files.isDirectory(p) ? p.resolve("model.onnx") : p) / 1e6;
    }
}
