package org.distill4j.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.serve.Embedding;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.TextEmbedder;
import org.distill4j.train.ConsoleProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Sentence embeddings for a file of texts. */
@Command(name = "embed", description = "Embed each line of a text file (a tab separates a pair) into JSON lines.")
final class EmbedCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "builtin:NAME, .onnx or directory")
    String model;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "one text per line, or A<TAB>B")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE.jsonl", description = "one JSON array per line")
    Path output;

    @Option(names = "--pooling", defaultValue = "mean", paramLabel = "mean|cls",
            description = "mean of token vectors (default) or the [CLS] vector")
    String pooling;

    @Option(names = "--normalize", description = "L2-normalise every vector")
    boolean normalize;

    @Option(names = "--batch-size", defaultValue = "32", description = "texts per forward pass (default 32)")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", description = "tokens per text, truncated (default 128)")
    int maxLength;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Pooling pool = Pooling.parse(pooling);
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        readInput(first, second);
        InferenceOptions options = InferenceOptions.defaults().withMaxLength(maxLength).withBatchSize(batchSize)
                .withDevice(device.choice());
        float[][] vectors = new float[first.size()][];
        // The same TextEmbedder that the serving API and `./distill serve` run, so the vectors agree.
        try (TextEmbedder embedder = TextEmbedder.load(model, pool, normalize, options);
                ProgressBar bar = ConsoleProgress.start("embed", first.size(), 0, " texts")) {
            int chunk = 64 * batchSize;
            for (int start = 0; start < first.size(); start += chunk) {
                int end = Math.min(first.size(), start + chunk);
                List<Embedding> part = embedder.embedAll(first.subList(start, end), second.subList(start, end));
                for (int i = 0; i < part.size(); i++) {
                    vectors[start + i] = part.get(i).vector();
                }
                bar.stepBy(end - start);
            }
        }
        write(vectors);
        System.err.printf("wrote %d vectors of dimension %d to %s%n", vectors.length,
                vectors.length == 0 ? 0 : vectors[0].length, output);
    }

    private void readInput(List<String> first, List<String> second) {
        List<String> lines;
        try {
            lines = Files.readAllLines(input, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DistillException("Cannot read --input " + input + ": " + e.getMessage(), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                throw new DistillException(input + ":" + (i + 1) + ": empty line (one text, or two tab-separated texts, "
                        + "per line)");
            }
            String[] parts = line.split("\t", -1);
            if (parts.length > 2) {
                throw new DistillException(input + ":" + (i + 1) + ": " + parts.length + " tab-separated fields; "
                        + "expected one text or a pair");
            }
            first.add(parts[0]);
            second.add(parts.length == 2 ? parts[1] : null);
        }
    }

    private void write(float[][] vectors) {
        try {
            AtomicFile.write(output, tmp -> {
                try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    for (float[] v : vectors) {
                        StringBuilder sb = new StringBuilder(v.length * 12).append('[');
                        for (int j = 0; j < v.length; j++) {
                            sb.append(j == 0 ? "" : ",").append(v[j]);
                        }
                        w.write(sb.append("]\n").toString());
                    }
                }
            });
        } catch (IOException e) {
            throw new DistillException("Cannot write --output " + output + ": " + e.getMessage(), e);
        }
    }
}
