package org.distill4j.serve;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;

/**
 * A model string opened on a backend, with its tokenizer and task information, and the batching
 * that {@link TextEmbedder} and {@link TextClassifier} share.
 */
final class LoadedModel implements AutoCloseable {

    /** Rows of one batch, in the batch's order. */
    interface BatchFunction<T> {
        List<T> apply(TokenBatch batch, boolean[] truncated);
    }

    final String name;
    final EncoderBackend backend;
    final BertTokenizer tokenizer;
    final ModelInfo info;
    final InferenceOptions options;
    private boolean closed;

    private LoadedModel(String name, EncoderBackend backend, BertTokenizer tokenizer, ModelInfo info,
            InferenceOptions options) {
        this.name = name;
        this.backend = backend;
        this.tokenizer = tokenizer;
        this.info = info;
        this.options = options;
    }

    /**
     * Opens {@code spec}: {@code builtin:NAME}, a {@code .onnx} file with {@code tokenizer.json} beside
     * it, or a directory (a recipe's or fine-tuning's output; for ONNX Runtime, one holding
     * {@code model.onnx}).
     */
    static LoadedModel open(String spec, InferenceOptions options, boolean withHead) {
        Path path = spec.startsWith("builtin:") ? null : Path.of(spec);
        ModelInfo dirInfo = path == null ? ModelInfo.NONE
                : ModelInfo.read(Files.isDirectory(path) ? path : path.toAbsolutePath().getParent());
        return options.backend() == Backend.DJL ? openDjl(spec, dirInfo, options, withHead)
                : openOnnx(spec, path, dirInfo, options);
    }

    private static LoadedModel openDjl(String spec, ModelInfo dirInfo, InferenceOptions options, boolean withHead) {
        Checkpoint ckpt = Checkpoint.load(spec);
        ModelInfo info = new ModelInfo(dirInfo.task(), dirInfo.labels(), dirInfo.trainedLength(),
                ckpt.config().maxPositionEmbeddings());
        BertTokenizer tok = ckpt.tokenizer(info.lengthFor(options.maxLength()));
        try {
            return new LoadedModel(spec, new DjlBackend(ckpt, withHead, options.device().resolve()), tok, info, options);
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    private static LoadedModel openOnnx(String spec, Path path, ModelInfo dirInfo, InferenceOptions options) {
        byte[] onnx;
        byte[] tokenizer;
        try {
            if (path == null) {
                String resource = Checkpoint.builtinOnnxResource(spec);
                if (resource == null) {
                    throw new DistillException(spec + " does not ship as ONNX; export it first: ./distill export --model "
                            + spec + " --out DIR/model.onnx");
                }
                onnx = resource(resource + ".onnx", spec);
                tokenizer = resource(resource + "-tokenizer.json", spec);
            } else {
                Path file = Files.isDirectory(path) ? path.resolve("model.onnx") : path;
                if (!Files.isRegularFile(file)) {
                    throw new DistillException(file + " not found: ONNX Runtime needs an ONNX file; export the model "
                            + "first: ./distill export --model " + spec + " --out " + file);
                }
                Path tok = file.toAbsolutePath().getParent().resolve("tokenizer.json");
                if (!Files.isRegularFile(tok)) {
                    throw new DistillException("No tokenizer.json beside " + file);
                }
                onnx = Files.readAllBytes(file);
                tokenizer = Files.readAllBytes(tok);
            }
        } catch (IOException e) {
            throw new DistillException("Cannot read " + spec + ": " + e.getMessage(), e);
        }
        BertTokenizer tok = BertTokenizer.fromJson(tokenizer, dirInfo.lengthFor(options.maxLength()), spec);
        try {
            return new LoadedModel(spec, new OnnxRuntimeBackend(onnx, spec, options.threads()), tok, dirInfo, options);
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    private static byte[] resource(String name, String spec) throws IOException {
        try (InputStream in = LoadedModel.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new DistillException("Builtin model " + spec + " is not on the classpath (" + name + ")");
            }
            return in.readAllBytes();
        }
    }

    int maxLength() {
        return tokenizer.maxLength();
    }

    /**
     * Runs texts (pairs where {@code second} has a non-null entry) in batches of similar length and
     * returns one result per text, in input order.
     */
    <T> List<T> run(List<String> first, List<String> second, BatchFunction<T> fn) {
        int n = first.size();
        if (second != null && second.size() != n) {
            throw new IllegalArgumentException(n + " texts but " + second.size() + " second texts");
        }
        for (int i = 0; i < n; i++) {
            if (first.get(i) == null) {
                throw new IllegalArgumentException("text " + i + " is null");
            }
        }
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> first.get(i).length() + (isPair(second, i) ? second.get(i).length() : 0)));
        List<T> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(null);
        }
        int batch = options.batchSize();
        for (int start = 0; start < n; start += batch) {
            List<Integer> idx = order.subList(start, Math.min(n, start + batch));
            // A batch is all single texts or all pairs: the tokenizer takes one or the other.
            for (boolean pairs : new boolean[] {false, true}) {
                List<Integer> group = idx.stream().filter(i -> isPair(second, i) == pairs).toList();
                if (group.isEmpty()) {
                    continue;
                }
                BertTokenizer.Tokenized t = tokenizer.tokenize(group.stream().map(first::get).toList(),
                        pairs ? group.stream().map(second::get).toList() : null, false);
                if (!options.truncate()) {
                    for (int j = 0; j < group.size(); j++) {
                        if (t.truncated()[j]) {
                            throw new InputTooLongException(group.get(j), maxLength());
                        }
                    }
                }
                List<T> rows = fn.apply(t.batch(), t.truncated());
                for (int j = 0; j < group.size(); j++) {
                    out.set(group.get(j), rows.get(j));
                }
            }
        }
        return out;
    }

    private static boolean isPair(List<String> second, int i) {
        return second != null && second.get(i) != null;
    }

    /** Frees the backend and tokenizer; later calls do nothing. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            backend.close();
            tokenizer.close();
        }
    }
}
