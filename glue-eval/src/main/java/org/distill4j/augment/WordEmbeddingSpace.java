package org.distill4j.augment;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.text.BertTokenizer;

/**
 * Nearest neighbours of words in a word-embedding space, for words the masked-LM cannot propose
 * replacements for because they are several word pieces long. The reference uses GloVe, which
 * cannot be had here; this space is built from the teacher's own input embeddings: a word's
 * vector is the mean of its word pieces' embeddings, L2-normalised, and neighbours are by cosine.
 * The words searched are the vocabulary's whole-word entries (letters only) plus the words of the
 * texts being augmented, so a rare word can be replaced by another rare word.
 */
final class WordEmbeddingSpace {

    private final BertTokenizer tokenizer;
    private final float[] table; // [vocabulary, width], the input embeddings
    private final int width;
    private final List<String> words = new ArrayList<>();
    private final float[] vectors; // [words, width], normalised
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    /**
     * @param embeddings the word-piece embedding table, [vocabulary × width] row-major
     * @param extraWords words of the texts (normalised), added to the vocabulary's whole words
     */
    WordEmbeddingSpace(BertTokenizer tokenizer, float[] embeddings, int width, Collection<String> extraWords) {
        this.tokenizer = tokenizer;
        this.table = embeddings;
        this.width = width;
        Set<String> all = new LinkedHashSet<>(wholeWords(tokenizer));
        for (String w : extraWords) {
            if (!w.isEmpty() && w.chars().allMatch(c -> c >= 'a' && c <= 'z')) {
                all.add(w);
            }
        }
        words.addAll(all);
        vectors = new float[words.size() * width];
        for (int i = 0; i < words.size(); i++) {
            System.arraycopy(vector(tokenizer.ids(words.get(i))), 0, vectors, i * width, width);
        }
    }

    /** The space of {@code mlm}'s input embeddings, over the vocabulary's whole words and {@code extraWords}. */
    static WordEmbeddingSpace of(org.distill4j.model.BertModel mlm, BertTokenizer tokenizer,
            Collection<String> extraWords) {
        float[] table = mlm.namedParameters().get("embeddings.word_embeddings.weight").getArray().toFloatArray();
        return new WordEmbeddingSpace(tokenizer, table, mlm.config().hiddenSize(), extraWords);
    }

    /** The vocabulary's entries that are whole words of letters (not ## continuations, not [special]), by id. */
    private static List<String> wholeWords(BertTokenizer tokenizer) {
        List<String> out = new ArrayList<>();
        for (String t : vocabulary(tokenizer)) {
            if (t != null && !t.isEmpty() && t.chars().allMatch(c -> c >= 'a' && c <= 'z')) {
                out.add(t);
            }
        }
        return out;
    }

    /** The word-piece vocabulary, token by id. */
    static String[] vocabulary(BertTokenizer tokenizer) {
        JsonNode vocab;
        try {
            vocab = Json.MAPPER.readTree(tokenizer.json()).path("model").path("vocab");
        } catch (IOException e) {
            throw new DistillException("Cannot read the tokenizer's vocabulary: " + e.getMessage(), e);
        }
        if (!vocab.isObject()) {
            throw new DistillException("the tokenizer has no word-piece vocabulary (model.vocab) to build word "
                    + "neighbours from");
        }
        String[] byId = new String[vocab.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt();
            if (id < 0 || id >= byId.length) {
                throw new DistillException("the tokenizer's vocabulary has id " + id + " for '" + e.getKey()
                        + "' outside 0.." + (byId.length - 1));
            }
            byId[id] = e.getKey();
        }
        return byId;
    }

    /** Mean of the pieces' embeddings, normalised. */
    private float[] vector(long[] pieces) {
        float[] v = new float[width];
        for (long p : pieces) {
            int off = (int) p * width;
            for (int d = 0; d < width; d++) {
                v[d] += table[off + d];
            }
        }
        double norm = 0;
        for (float x : v) {
            norm += x * x;
        }
        float inv = norm == 0 ? 0 : (float) (1 / Math.sqrt(norm));
        for (int d = 0; d < width; d++) {
            v[d] *= inv;
        }
        return v;
    }

    /** Words searched. */
    int size() {
        return words.size();
    }

    /** The {@code k} words nearest to {@code word} (normalised form), itself excluded, nearest first. */
    List<String> nearest(String word, int k) {
        return cache.computeIfAbsent(word, w -> search(w, k));
    }

    private List<String> search(String word, int k) {
        float[] q = vector(tokenizer.ids(word));
        int n = words.size();
        int[] best = new int[k];
        float[] score = new float[k];
        java.util.Arrays.fill(score, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(best, -1);
        for (int i = 0; i < n; i++) {
            if (words.get(i).equals(word)) {
                continue;
            }
            float s = 0;
            int off = i * width;
            for (int d = 0; d < width; d++) {
                s += vectors[off + d] * q[d];
            }
            if (s > score[k - 1]) { // insert, keeping the list sorted; ties keep the earlier word
                int j = k - 1;
                while (j > 0 && score[j - 1] < s) {
                    score[j] = score[j - 1];
                    best[j] = best[j - 1];
                    j--;
                }
                score[j] = s;
                best[j] = i;
            }
        }
        List<String> out = new ArrayList<>(k);
        for (int b : best) {
            if (b >= 0) {
                out.add(words.get(b));
            }
        }
        return out;
    }
}
