package org.distill4j.augment;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.distill4j.text.BertTokenizer;

/**
 * A text as TinyBERT's augmentation sees it: the tokenizer's words (split at whitespace and
 * punctuation, as BERT's basic tokenizer does) with their word pieces. A word is a replacement
 * candidate when it is letters only and not a stop word, as in the reference.
 *
 * @param text the text as given
 * @param words each word as written in the text
 * @param normalized each word as the tokenizer normalises it (lower-cased, accents stripped)
 * @param pieces each word's word-piece ids
 */
record Sentence(String text, List<String> words, List<String> normalized, List<long[]> pieces) {

    /** The reference's list (NLTK's English stop words). */
    static final Set<String> STOP_WORDS = Set.of("i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you",
            "you're", "you've", "you'll", "you'd", "your", "yours", "yourself", "yourselves", "he", "him", "his",
            "himself", "she", "she's", "her", "hers", "herself", "it", "it's", "its", "itself", "they", "them",
            "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "that'll", "these",
            "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do",
            "does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while",
            "of", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before",
            "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under",
            "again", "further", "then", "once", "here", "there", "when", "where", "why", "how", "all", "any", "both",
            "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
            "than", "too", "very", "s", "t", "can", "will", "just", "don", "don't", "should", "should've", "now",
            "d", "ll", "m", "o", "re", "ve", "y", "ain", "aren", "aren't", "couldn", "couldn't", "didn", "didn't",
            "doesn", "doesn't", "hadn", "hadn't", "hasn", "hasn't", "haven", "haven't", "isn", "isn't", "ma",
            "mightn", "mightn't", "mustn", "mustn't", "needn", "needn't", "shan", "shan't", "shouldn", "shouldn't",
            "wasn", "wasn't", "weren", "weren't", "won", "won't", "wouldn", "wouldn't", "'s", "'re");

    static Sentence of(String text, BertTokenizer tokenizer) {
        Encoding e = tokenizer.encodeWords(text);
        String[] tokens = e.getTokens();
        long[] ids = e.getIds();
        long[] wordIds = e.getWordIds();
        CharSpan[] spans = e.getCharTokenSpans();
        List<String> words = new ArrayList<>();
        List<String> normalized = new ArrayList<>();
        List<long[]> pieces = new ArrayList<>();
        int i = 0;
        while (i < tokens.length) {
            int j = i + 1;
            while (j < tokens.length && wordIds[j] == wordIds[i]) {
                j++;
            }
            StringBuilder norm = new StringBuilder();
            for (int k = i; k < j; k++) {
                norm.append(tokens[k].startsWith("##") ? tokens[k].substring(2) : tokens[k]);
            }
            String surface = surface(text, spans, i, j - 1, norm.toString());
            words.add(surface);
            normalized.add(norm.toString());
            long[] p = new long[j - i];
            System.arraycopy(ids, i, p, 0, p.length);
            pieces.add(p);
            i = j;
        }
        return new Sentence(text, words, normalized, pieces);
    }

    /**
     * The text of pieces {@code first..last} as written. The tokenizer's spans count Unicode code
     * points, not Java chars: they are converted, or a text with an emoji before a word would cut
     * that word one char off.
     */
    private static String surface(String text, CharSpan[] spans, int first, int last, String fallback) {
        if (spans == null || spans[first] == null || spans[last] == null) {
            return fallback;
        }
        int points = text.codePointCount(0, text.length());
        int a = spans[first].getStart();
        int b = spans[last].getEnd();
        if (a < 0 || b < a || b > points) {
            return fallback;
        }
        return text.substring(text.offsetByCodePoints(0, a), text.offsetByCodePoints(0, b));
    }

    /** Whether word {@code i} may be replaced: letters only, and not a stop word. */
    boolean candidate(int i) {
        String w = normalized.get(i);
        return !w.isEmpty() && w.chars().allMatch(c -> c >= 'a' && c <= 'z')
                && !STOP_WORDS.contains(w.toLowerCase(Locale.ROOT));
    }

    int size() {
        return words.size();
    }

    /** The words joined by single spaces, as the reference writes every augmented text. */
    static String join(List<String> words) {
        return String.join(" ", words);
    }
}
