package org.distill4j.augment;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.text.BertTokenizer;

/**
 * Replacement candidates for the words of a batch of sentences, TinyBERT's way: a one-piece word
 * gets the masked-LM's top K at its position, with the unmasked sentence given as the second
 * segment ({@code [CLS] masked [SEP] original [SEP]}) and word-piece continuations dropped; a
 * longer word gets its nearest neighbours in a {@link WordEmbeddingSpace} (or keeps itself when
 * there is none, to measure what the space adds); a word with neither keeps itself.
 *
 * <p>The reference runs one masked-LM forward per word. With {@code spacing} s > 0, the one-piece
 * words of a sentence are split into s groups by their rank (a word and the next of its group are
 * s candidate words apart) and each group is masked in one forward; the original sentence in the
 * second segment still shows every masked word's context. {@code spacing} 0 is the reference's
 * one word per forward. Either way, forwards are batched across sentences, padded to the longest.
 */
final class CandidateFinder {

    private final BertModel mlm;
    private final BertTokenizer tokenizer;
    private final WordEmbeddingSpace space;
    private final int k;
    private final int spacing;
    private final int batchSize;
    private final long cls;
    private final long sep;
    private final long mask;
    private final long pad;
    private final String[] vocabulary;
    private long forwards;
    private long onePieceWords;
    private long longerWords;

    CandidateFinder(BertModel mlm, BertTokenizer tokenizer, WordEmbeddingSpace space, int k, int spacing,
            int batchSize) {
        this.mlm = mlm;
        this.tokenizer = tokenizer;
        this.space = space;
        this.k = k;
        this.spacing = spacing;
        this.batchSize = batchSize;
        this.cls = tokenizer.tokenId("[CLS]");
        this.sep = tokenizer.tokenId("[SEP]");
        this.mask = tokenizer.tokenId("[MASK]");
        this.pad = tokenizer.tokenId("[PAD]");
        this.vocabulary = WordEmbeddingSpace.vocabulary(tokenizer);
    }

    /** One masked-LM input: sentence {@code s} with words {@code words} masked. */
    private record Job(int s, int[] words) {}

    /** Masked-LM forwards run so far (sequences, not batches). */
    long forwards() {
        return forwards;
    }

    /** Candidate words seen so far that are one word piece (the masked-LM's). */
    long onePieceWords() {
        return onePieceWords;
    }

    /** Candidate words seen so far that are several pieces (the embedding space's, or kept when it is off). */
    long longerWords() {
        return longerWords;
    }

    /**
     * For each sentence, for each word, its candidates (null for a word that is not a candidate).
     */
    List<List<List<String>>> find(List<Sentence> sentences) {
        List<List<List<String>>> out = new ArrayList<>();
        List<Job> jobs = new ArrayList<>();
        for (int s = 0; s < sentences.size(); s++) {
            Sentence sent = sentences.get(s);
            List<List<String>> words = new ArrayList<>();
            List<Integer> onePiece = new ArrayList<>();
            for (int w = 0; w < sent.size(); w++) {
                if (!sent.candidate(w)) {
                    words.add(null);
                } else if (sent.pieces().get(w).length == 1) {
                    words.add(new ArrayList<>());
                    onePiece.add(w);
                    onePieceWords++;
                } else {
                    longerWords++;
                    List<String> near = space == null ? List.of() : space.nearest(sent.normalized().get(w), k);
                    words.add(near.isEmpty() ? List.of(sent.words().get(w)) : near);
                }
            }
            out.add(words);
            if (spacing == 0) {
                for (int w : onePiece) {
                    jobs.add(new Job(s, new int[] {w}));
                }
            } else {
                for (int g = 0; g < Math.min(spacing, onePiece.size()); g++) {
                    List<Integer> group = new ArrayList<>();
                    for (int r = g; r < onePiece.size(); r += spacing) {
                        group.add(onePiece.get(r));
                    }
                    jobs.add(new Job(s, group.stream().mapToInt(Integer::intValue).toArray()));
                }
            }
        }
        // Batches of like length pad little: sort the jobs by their text's pieces (a stable sort, so the
        // batches, and with them the candidates, depend only on the texts).
        jobs.sort(java.util.Comparator.comparingInt(j -> sentences.get(j.s()).pieces().stream()
                .mapToInt(p -> p.length).sum()));
        for (int start = 0; start < jobs.size(); start += batchSize) {
            run(sentences, jobs.subList(start, Math.min(jobs.size(), start + batchSize)), out);
        }
        for (int s = 0; s < out.size(); s++) {
            List<List<String>> words = out.get(s);
            for (int w = 0; w < words.size(); w++) {
                if (words.get(w) != null && words.get(w).isEmpty()) {
                    words.set(w, List.of(sentences.get(s).words().get(w))); // past the 512-token window
                }
            }
        }
        return out;
    }

    private void run(List<Sentence> sentences, List<Job> batch, List<List<List<String>>> out) {
        int max = tokenizer.maxLength();
        long[][] rows = new long[batch.size()][];
        long[][] types = new long[batch.size()][];
        List<long[]> maskedAt = new ArrayList<>(); // (row, position in row, sentence, word)
        int seq = 0;
        for (int b = 0; b < batch.size(); b++) {
            Job job = batch.get(b);
            Sentence sent = sentences.get(job.s());
            int[] start = new int[sent.size()];
            List<Long> first = new ArrayList<>();
            for (int w = 0; w < sent.size(); w++) {
                start[w] = first.size() + 1;
                for (long p : sent.pieces().get(w)) {
                    first.add(p);
                }
            }
            int n = first.size();
            long[] ids = new long[Math.min(max, 2 * n + 3)];
            long[] type = new long[ids.length];
            ids[0] = cls;
            for (int i = 0; i < n && i + 1 < ids.length; i++) {
                ids[i + 1] = first.get(i);
            }
            if (n + 1 < ids.length) {
                ids[n + 1] = sep;
            }
            for (int i = 0; i < n && n + 2 + i < ids.length; i++) {
                ids[n + 2 + i] = first.get(i);
                type[n + 2 + i] = 1;
            }
            ids[ids.length - 1] = sep;
            if (ids.length > n + 2) {
                type[ids.length - 1] = 1;
            }
            for (int w : job.words()) {
                if (start[w] < ids.length - 1 && start[w] <= n) {
                    ids[start[w]] = mask;
                    maskedAt.add(new long[] {b, start[w], job.s(), w});
                }
            }
            rows[b] = ids;
            types[b] = type;
            seq = Math.max(seq, ids.length);
        }
        forwards += batch.size();
        if (maskedAt.isEmpty()) {
            return;
        }
        long[] idArr = new long[batch.size() * seq];
        long[] typeArr = new long[idArr.length];
        long[] maskArr = new long[idArr.length];
        Arrays.fill(idArr, pad);
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], 0, idArr, b * seq, rows[b].length);
            System.arraycopy(types[b], 0, typeArr, b * seq, types[b].length);
            Arrays.fill(maskArr, b * seq, b * seq + rows[b].length, 1L);
        }
        long[] flat = new long[maskedAt.size()];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = maskedAt.get(i)[0] * seq + maskedAt.get(i)[1];
        }
        int[] top;
        try (NDManager m = mlm.manager().newSubManager()) {
            ParameterStore ps = new ParameterStore(m, false);
            Shape shape = new Shape(batch.size(), seq);
            EncoderInput in = new EncoderInput(m.create(idArr, shape), m.create(typeArr, shape),
                    m.create(maskArr, shape));
            long width = mlm.config().hiddenSize();
            NDArray hidden = mlm.lastHidden(ps, in, false).reshape(-1, width).get(m.create(flat));
            NDList best = mlm.maskedLmLogits(ps, hidden, false).topK(k, -1, true, true);
            top = best.get(1).toType(ai.djl.ndarray.types.DataType.INT32, false).toIntArray();
        }
        for (int i = 0; i < maskedAt.size(); i++) {
            List<String> c = out.get((int) maskedAt.get(i)[2]).get((int) maskedAt.get(i)[3]);
            for (int j = 0; j < k; j++) {
                String token = vocabulary[top[i * k + j]];
                // Word-piece continuations and special tokens ([UNK], [SEP], [unused0], ...) are no words.
                boolean special = token.length() > 2 && token.startsWith("[") && token.endsWith("]");
                if (!token.startsWith("##") && !special) {
                    c.add(token);
                }
            }
        }
    }
}
