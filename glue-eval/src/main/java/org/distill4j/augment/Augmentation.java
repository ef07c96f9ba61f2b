package org.distill4j.augment;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import me.tongfei.progressbar.ProgressBar;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.Sha256;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.Example;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.Layout;
import org.distill4j.glue.Split;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.ConsoleProgress;
import org.distill4j.train.TextCorpus;
import org.distill4j.weights.Checkpoint;

/**
 * TinyBERT's data augmentation of a GLUE task's training set ({@code ./distill augment}): every
 * training row, then its augmented copies, written in the task's own TSV layout with the labels
 * and other columns of the row they came from. A text file (one text per line, e.g. a corpus for
 * general distillation) is augmented the same way into a text file: each line, then its copies; a
 * line {@code A<TAB>B} is a pair. For a pair each side is augmented on its own, the other side kept
 * as it was (the reference augments the first side, then pairs the second side's copies with the
 * first side's last copy; that carry-over is not reproduced).
 *
 * <p>Deterministic for a seed: each text's draws come from a generator seeded by (seed, row,
 * side), and the masked-LM batches are formed within fixed chunks of rows. Resumable: finished
 * chunks are appended to a partial file whose length is recorded after each; a killed run
 * continues from the last recorded chunk and writes the same file. Cached: the result is kept
 * under a hash of everything that decides it, and a second call with the same inputs copies it.
 */
public final class Augmentation {

    /** Rows per chunk by default: the unit of batching, of progress and of resume. */
    public static final int CHUNK = 32;
    /** Bumped whenever the algorithm's output changes, so that caches of older outputs are not reused. */
    static final int VERSION = 5;

    /**
     * @param model a model with a masked-LM head whose tokenizer is the students' (BERT-base)
     * @param n tries per text (N); 0 means the task's default
     * @param k candidates per word (the reference's M)
     * @param p probability of replacing each candidate word
     * @param spacing 0: one masked word per forward (the reference); s: s groups of words per text
     * @param limit augment the first this many training rows (0: all)
     * @param chunk rows per chunk: masked-LM batches form within a chunk, and a resume restarts at one
     * @param neighbours whether words of several pieces get neighbours in the teacher's embedding
     *     space (else they are kept: the ablation of that space)
     * @param corpus instead of a task's training set: a text file, one text or pair {@code A<TAB>B} per
     *     line (blank lines skipped), augmented into the same layout: each line, then its copies;
     *     {@code task} is then null
     */
    public record Settings(GlueTask task, Path glueDir, String model, int n, int k, double p, long seed,
            int spacing, int batchSize, int limit, int chunk, boolean neighbours, boolean skipBadRows, Path corpus) {

        /** A text file as the input: one text, and one output line, per line. */
        public static final Layout CORPUS_LAYOUT = new Layout(false, 1, -1, 0, -1, -1);
        /** Tries per line of a corpus by default: the reference's N for single-sentence tasks. */
        public static final int CORPUS_N = 20;

        /** A GLUE task's training set. */
        public Settings(GlueTask task, Path glueDir, String model, int n, int k, double p, long seed, int spacing,
                int batchSize, int limit, int chunk, boolean neighbours, boolean skipBadRows) {
            this(task, glueDir, model, n, k, p, seed, spacing, batchSize, limit, chunk, neighbours, skipBadRows, null);
        }

        public Settings {
            if ((task == null) == (corpus == null)) {
                throw new IllegalArgumentException("augment either a GLUE task (--task) or a text file (--corpus), "
                        + "not " + (task == null ? "neither" : "both"));
            }
            if (k < 1 || !(p >= 0 && p <= 1) || n < 0 || spacing < 0 || batchSize < 1 || limit < 0 || chunk < 1) {
                throw new IllegalArgumentException("augmentation needs --k >= 1, --p in [0, 1], --n >= 0, --spacing "
                        + ">= 0 (0: --exact), --batch-size >= 1, --limit >= 0 and --chunk >= 1; got k " + k + ", p " + p
                        + ", n " + n + ", spacing " + spacing + ", batch size " + batchSize + ", limit " + limit
                        + ", chunk " + chunk);
            }
        }

        /** The reference's N per task (which its script spells "STS-b" for STS-B, so there it never applies). */
        public static int defaultN(GlueTask task) {
            return switch (task.dirName()) {
                case "MNLI", "QQP" -> 10;
                case "SST-2", "QNLI" -> 20;
                default -> 30;
            };
        }

        int tries() {
            return n > 0 ? n : task != null ? defaultN(task) : CORPUS_N;
        }

        /** The rows to augment: the task's training set, or the corpus's non-blank lines. */
        public Dataset input() {
            if (task != null) {
                return GlueReader.read(glueDir, task, task.train(), skipBadRows);
            }
            if (!Files.isRegularFile(corpus)) {
                throw new DistillException("--corpus " + corpus + " is not a file (one text per line)");
            }
            List<Example> rows = new ArrayList<>();
            try (var lines = Files.lines(corpus, StandardCharsets.UTF_8)) {
                int[] line = {0};
                lines.forEachOrdered(text -> {
                    line[0]++;
                    String t = withoutByteOrderMark(line[0], text);
                    if (!t.isBlank()) {
                        rows.add(corpusRow(rows.size(), t, line[0]));
                    }
                });
            } catch (IOException | UncheckedIOException e) {
                throw new DistillException("Cannot read --corpus " + corpus + ": " + e.getMessage(), e);
            }
            if (rows.isEmpty()) {
                throw new DistillException("--corpus " + corpus + " has no text: one text per line");
            }
            return new Dataset(null, new Split("corpus", corpus.toString(), CORPUS_LAYOUT, null), corpus, rows, 0);
        }

        /** Where the texts are in a line of the input, and so of the output. */
        public Layout layout() {
            return task != null ? task.train().layout() : CORPUS_LAYOUT;
        }

        /** The input's name in file names and messages: the task, or the corpus file's. */
        public String inputName() {
            return task != null ? task.dirName() : corpus.getFileName().toString();
        }

        /** The training rows augmented: the first {@code limit}, or all. */
        public List<Example> rows(Dataset train) {
            return limit > 0 && limit < train.size() ? train.examples().subList(0, limit) : train.examples();
        }
    }

    /**
     * @param rows rows written (originals and copies)
     * @param texts texts augmented
     * @param forwards masked-LM sequences run in this process
     * @param seconds this process's time
     * @param cached whether the output came from the cache
     * @param onePieceWords candidate words given masked-LM candidates (in this process)
     * @param longerWords candidate words of several pieces (in this process)
     */
    public record Result(Path file, int examples, long rows, long texts, long forwards, double seconds,
            boolean cached, long onePieceWords, long longerWords) {

        public double textsPerSecond() {
            return seconds == 0 ? 0 : texts / seconds;
        }
    }

    private Augmentation() {}

    /** A hash of everything that decides the output. */
    static String key(Settings s, Dataset train) {
        String model = s.model();
        Path local = Path.of(model);
        String modelId = Files.isDirectory(local) ? Sha256.of(local.resolve("model.safetensors")) : model;
        // Version 5 read a corpus line with a tab as one text, later ones as a pair: the tag renews
        // corpus caches and keeps the tasks' valid.
        String version = "v" + VERSION + (s.task() == null ? "-corpus-pairs" : "");
        return Sha256.of(String.join("|", version, s.inputName(), Sha256.of(train.file()), modelId,
                Integer.toString(s.tries()), Integer.toString(s.k()), Double.toString(s.p()), Long.toString(s.seed()),
                Integer.toString(s.spacing()), Integer.toString(s.batchSize()), Integer.toString(s.limit()),
                Integer.toString(s.chunk()), Boolean.toString(s.neighbours())));
    }

    /** Augments the input's rows into {@code out}, through the cache in {@code cacheDir}. */
    public static Result run(Settings s, Path out, Path cacheDir) {
        long t0 = System.nanoTime();
        Dataset train = s.input();
        List<Example> examples = s.rows(train);
        String key = key(s, train);
        Path dir = cacheDir.resolve(s.inputName() + "-" + key.substring(0, 16));
        Path done = dir.resolve("augmented.tsv");
        if (Files.isRegularFile(done)) {
            copy(done, out);
            return new Result(out, examples.size(), lines(done), 0, 0, (System.nanoTime() - t0) / 1e9, true, 0, 0);
        }
        List<String> raw;
        try {
            Files.createDirectories(dir);
            raw = Files.readAllLines(train.file(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("augmenting " + train.file() + ": " + e.getMessage(), e);
        }
        Path partial = dir.resolve("augmented.tsv.partial");
        Path progress = dir.resolve("progress.json");
        int size = s.chunk();
        int chunks = (examples.size() + size - 1) / size;
        int first = 0;
        long bytes = 0;
        if (Files.isRegularFile(progress) && Files.isRegularFile(partial)) {
            try {
                var p = Json.MAPPER.readTree(progress.toFile());
                first = p.path("chunks").asInt();
                bytes = p.path("bytes").asLong();
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + progress + ": " + e.getMessage(), e);
            }
            System.err.printf("augment: resuming %s at row %d of %d%n", dir, Math.min(examples.size(), first * size),
                    examples.size());
        }
        Layout layout = s.layout();
        long texts = 0;
        long forwards;
        long onePiece;
        long longer;
        try (Worker worker = new Worker(s, null, examples);
                FileChannel w = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            w.truncate(bytes);
            w.position(bytes);
            if (bytes == 0 && layout.header()) {
                write(w, header(raw));
            }
            try (ProgressBar bar = ConsoleProgress.start("augment " + s.inputName(), examples.size(),
                    Math.min(examples.size(), (long) first * size), " rows")) {
                for (int c = first; c < chunks; c++) {
                    Chunk chunk = Chunk.of(c, examples.subList(c * size, Math.min(examples.size(), (c + 1) * size)),
                            raw);
                    write(w, worker.augment(chunk));
                    texts += chunk.texts();
                    w.force(false);
                    bytes = w.position();
                    java.util.Map<String, Long> state = java.util.Map.of("chunks", c + 1L, "bytes", bytes);
                    AtomicFile.write(progress, tmp -> Json.MAPPER.writeValue(tmp.toFile(), state));
                    bar.stepBy(chunk.rows().size());
                }
            }
            forwards = worker.finder.forwards();
            onePiece = worker.finder.onePieceWords();
            longer = worker.finder.longerWords();
        } catch (IOException e) {
            throw new UncheckedIOException("augmenting into " + partial + ": " + e.getMessage(), e);
        }
        try {
            Files.move(partial, done, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(progress);
        } catch (IOException e) {
            throw new UncheckedIOException("finishing " + done + ": " + e.getMessage(), e);
        }
        copy(done, out);
        return new Result(out, examples.size(), lines(done), texts, forwards, (System.nanoTime() - t0) / 1e9, false,
                onePiece, longer);
    }

    /**
     * The reference's way against a fast one on the same rows, in one process: texts per second of
     * candidate search (masked-LM forwards and neighbour search, not sampling or writing) in each
     * mode, and how many of the reference's masked-LM candidates the fast mode also proposes.
     *
     * @param overlap mean over one-piece words of |fast ∩ exact| / |exact|
     */
    public record Comparison(int spacing, int texts, int words, double exactSeconds, double fastSeconds,
            long exactForwards, long fastForwards, double overlap) {

        public double speedUp() {
            return exactSeconds / fastSeconds;
        }
    }

    /**
     * Compares spacing 0 (the reference) with each of {@code spacings} on the first
     * {@code s.limit()} rows, chunk by chunk, each mode's time summed over the chunks.
     */
    public static List<Comparison> compare(Settings s, int... spacings) {
        for (int sp : spacings) {
            if (sp < 1) {
                throw new IllegalArgumentException("compare the reference's one word per forward with spacings >= 1");
            }
        }
        Dataset train = s.input();
        List<Example> examples = s.rows(train);
        Checkpoint ckpt = Checkpoint.load(s.model());
        try (NDManager root = NDManager.newBaseManager();
                BertModel mlm = ckpt.toModel(root);
                BertTokenizer tok = ckpt.tokenizer(512)) {
            List<Sentence> sentences = new ArrayList<>();
            Set<String> words = new HashSet<>();
            for (Example e : examples) {
                sentences.add(Sentence.of(e.textA(), tok));
                if (e.textB() != null) {
                    sentences.add(Sentence.of(e.textB(), tok));
                }
            }
            sentences.forEach(x -> words.addAll(x.normalized()));
            WordEmbeddingSpace space = WordEmbeddingSpace.of(mlm, tok, words);
            CandidateFinder exact = new CandidateFinder(mlm, tok, space, s.k(), 0, s.batchSize());
            List<CandidateFinder> fast = new ArrayList<>();
            for (int sp : spacings) {
                fast.add(new CandidateFinder(mlm, tok, space, s.k(), sp, s.batchSize()));
            }
            // Both modes search words in chunks of rows, as a run does. The neighbour search is warmed
            // first, so that its cache flatters no mode.
            sentences.forEach(x -> {
                for (int w = 0; w < x.size(); w++) {
                    if (x.candidate(w) && x.pieces().get(w).length > 1) {
                        space.nearest(x.normalized().get(w), s.k());
                    }
                }
            });
            List<List<List<List<String>>>> f = new ArrayList<>();
            fast.forEach(x -> f.add(new ArrayList<>()));
            List<List<List<String>>> x = new ArrayList<>();
            double[] fastSeconds = new double[spacings.length];
            double exactSeconds = 0;
            try (ProgressBar bar = ConsoleProgress.start("compare", sentences.size(), 0, " texts")) {
                for (int start = 0; start < sentences.size(); start += 2 * s.chunk()) {
                    List<Sentence> part = sentences.subList(start, Math.min(sentences.size(), start + 2 * s.chunk()));
                    for (int i = 0; i < fast.size(); i++) {
                        long t0 = System.nanoTime();
                        f.get(i).addAll(fast.get(i).find(part));
                        fastSeconds[i] += (System.nanoTime() - t0) / 1e9;
                    }
                    long t1 = System.nanoTime();
                    x.addAll(exact.find(part));
                    exactSeconds += (System.nanoTime() - t1) / 1e9;
                    bar.stepBy(part.size());
                }
            }
            List<Comparison> out = new ArrayList<>();
            for (int i = 0; i < fast.size(); i++) {
                double sum = 0;
                int n = 0;
                for (int t = 0; t < sentences.size(); t++) {
                    for (int w = 0; w < sentences.get(t).size(); w++) {
                        List<String> e = x.get(t).get(w);
                        if (e == null || sentences.get(t).pieces().get(w).length != 1) {
                            continue;
                        }
                        Set<String> both = new HashSet<>(e);
                        both.retainAll(f.get(i).get(t).get(w));
                        sum += (double) both.size() / new HashSet<>(e).size();
                        n++;
                    }
                }
                out.add(new Comparison(spacings[i], sentences.size(), n, exactSeconds, fastSeconds[i],
                        exact.forwards(), fast.get(i).forwards(), n == 0 ? 1 : sum / n));
            }
            return out;
        }
    }

    /**
     * A corpus line as a row to augment: a sentence pair for {@code A<TAB>B}, each side augmented on
     * its own as in a pair task, else one text ({@link TextCorpus#segments}, how general distillation
     * reads the line).
     *
     * @param line the line's number in the file, from 1
     */
    public static Example corpusRow(int index, String text, int line) {
        String[] parts = TextCorpus.segments(text);
        return new Example(index, parts[0], parts.length > 1 ? parts[1] : null, Double.NaN, line);
    }

    /** The header line of a training file with one (BOM stripped), newline-terminated. */
    public static String header(List<String> rawLines) {
        return withoutByteOrderMark(1, rawLines.get(0)) + "\n";
    }

    /** Line {@code number} (from 1) of an input file as a row reads it: line 1 loses a byte-order mark. */
    public static String withoutByteOrderMark(int number, String line) {
        return number == 1 ? line.replace("\uFEFF", "") : line;
    }

    /**
     * The rows of one chunk with their lines as the file has them (BOM stripped): what a worker
     * needs to write the chunk's originals and copies. Serializable, for distributed runs.
     *
     * @param index the chunk's number from 0
     */
    public record Chunk(int index, List<Example> rows, List<String> lines) implements Serializable {

        /** Chunk {@code index} of {@code rows}, each row's line taken from the file's lines. */
        public static Chunk of(int index, List<Example> rows, List<String> rawLines) {
            List<String> lines = new ArrayList<>();
            for (Example e : rows) {
                lines.add(withoutByteOrderMark(e.line(), rawLines.get(e.line() - 1)));
            }
            return new Chunk(index, List.copyOf(rows), List.copyOf(lines));
        }

        /** Texts augmented: one per side of each row. */
        public int texts() {
            return rows.stream().mapToInt(e -> e.textB() == null ? 1 : 2).sum();
        }
    }

    /**
     * The words of the texts being augmented, sorted: the order the word-embedding space takes
     * them in, which only the set of words decides. A distributed run gathers them once and gives
     * them to each {@link Worker}, so that every worker searches the same space as a
     * single-machine run.
     */
    public static List<String> words(List<Example> rows, BertTokenizer tok) {
        Set<String> words = new HashSet<>();
        for (Example e : rows) {
            words.addAll(Sentence.of(e.textA(), tok).normalized());
            if (e.textB() != null) {
                words.addAll(Sentence.of(e.textB(), tok).normalized());
            }
        }
        return words.stream().sorted().toList();
    }

    /**
     * The masked-LM, its tokenizer and the candidate search, loaded once and used for many
     * chunks. A chunk's output depends only on the settings, the word list and the chunk itself,
     * so chunks may be augmented by any number of workers in any order.
     */
    public static final class Worker implements AutoCloseable {
        private final Settings settings;
        private final Layout layout;
        private final NDManager root;
        private final BertModel mlm;
        private final BertTokenizer tok;
        final CandidateFinder finder;

        /**
         * @param checkpoint the loaded masked-LM, or null to load {@code s.model()}
         * @param rows the rows being augmented (their words join the neighbour search) when
         *     {@code words} is null
         */
        private Worker(Settings s, Checkpoint checkpoint, List<Example> rows) {
            this(s, checkpoint, rows, null);
        }

        /**
         * A worker for chunks of the rows whose {@link #words} are given.
         *
         * @param checkpoint the loaded masked-LM (a process may share one among its workers), or
         *     null to load {@code s.model()}
         */
        public Worker(Settings s, Checkpoint checkpoint, Collection<String> words) {
            this(s, checkpoint, null, words);
        }

        private Worker(Settings s, Checkpoint checkpoint, List<Example> rows, Collection<String> words) {
            this.settings = s;
            this.layout = s.layout();
            Checkpoint ckpt = checkpoint != null ? checkpoint : Checkpoint.load(s.model());
            NDManager manager = NDManager.newBaseManager();
            BertTokenizer tokenizer = null;
            try {
                BertModel model = ckpt.toModel(manager);
                tokenizer = ckpt.tokenizer(512);
                if (!model.heads().maskedLm()) {
                    throw new DistillException("augmentation needs a model with a masked-LM head; " + s.model()
                            + " has none (builtin:bert-base-uncased has one)");
                }
                Collection<String> w = words != null ? words : words(rows, tokenizer);
                WordEmbeddingSpace space = s.neighbours() ? WordEmbeddingSpace.of(model, tokenizer, w) : null;
                this.finder = new CandidateFinder(model, tokenizer, space, s.k(), s.spacing(), s.batchSize());
                this.mlm = model;
                this.tok = tokenizer;
                this.root = manager;
            } catch (RuntimeException e) {
                if (tokenizer != null) {
                    tokenizer.close();
                }
                manager.close();
                throw e;
            }
        }

        /** The chunk's rows, each followed by its augmented copies, as lines of the task's TSV. */
        public String augment(Chunk chunk) {
            List<Sentence> sentences = new ArrayList<>();
            for (Example e : chunk.rows()) {
                sentences.add(Sentence.of(e.textA(), tok));
                if (e.textB() != null) {
                    sentences.add(Sentence.of(e.textB(), tok));
                }
            }
            List<List<List<String>>> candidates = finder.find(sentences);
            StringBuilder out = new StringBuilder();
            int i = 0;
            for (int r = 0; r < chunk.rows().size(); r++) {
                Example e = chunk.rows().get(r);
                String line = chunk.lines().get(r);
                // A corpus line is one text, or a pair A<TAB>B whose copies keep the tab.
                boolean corpus = layout.columns() == 1;
                String[] cols = !corpus ? line.split("\t", -1)
                        : e.textB() == null ? new String[] {line} : new String[] {e.textA(), e.textB()};
                out.append(line).append('\n');
                int sides = e.textB() == null ? 1 : 2;
                for (int side = 0; side < sides; side++) {
                    Sentence sent = sentences.get(i);
                    Random random = new Random(settings.seed() * 1_000_003L + (long) e.line() * 2 + side);
                    int column = corpus ? side : side == 0 ? layout.textA() : layout.textB();
                    for (String v : Augmenter.variants(sent, candidates.get(i), settings.tries(), settings.p(),
                            random)) {
                        String[] copy = cols.clone();
                        copy[column] = v;
                        out.append(String.join("\t", copy)).append('\n');
                    }
                    i++;
                }
            }
            return out.toString();
        }

        @Override
        public void close() {
            try (root; tok; mlm) {
                // closes the tokenizer, the model and their memory
            }
        }
    }

    private static void write(FileChannel w, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            w.write(b);
        }
    }

    private static long lines(Path f) {
        try (var s = Files.lines(f, StandardCharsets.UTF_8)) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void copy(Path from, Path to) {
        try {
            AtomicFile.write(to, tmp -> Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING));
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + to + ": " + e.getMessage(), e);
        }
    }
}
