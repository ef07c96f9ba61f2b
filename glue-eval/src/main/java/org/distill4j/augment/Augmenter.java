package org.distill4j.augment;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * TinyBERT's sampling of augmented texts: N tries; in each, every candidate word draws one of its
 * candidates and takes it with probability p. A try that gives a text already made (or the
 * original) is dropped, so a text has at most N copies. Unlike the reference, a try that changed
 * nothing is not written as a new text.
 */
final class Augmenter {

    private Augmenter() {}

    /** The new texts for {@code sentence}, given each word's candidates (null: keep the word). */
    static List<String> variants(Sentence sentence, List<List<String>> candidates, int n, double p, Random random) {
        Set<String> seen = new HashSet<>();
        seen.add(Sentence.join(sentence.words()));
        List<String> out = new ArrayList<>();
        for (int attempt = 0; attempt < n; attempt++) {
            List<String> words = new ArrayList<>(sentence.words());
            for (int w = 0; w < words.size(); w++) {
                List<String> c = candidates.get(w);
                if (c == null) {
                    continue;
                }
                String pick = c.get(random.nextInt(c.size())); // drawn before the coin, as the reference does
                if (random.nextDouble() < p) {
                    words.set(w, pick);
                }
            }
            String text = Sentence.join(words);
            if (seen.add(text)) {
                out.add(text);
            }
        }
        return out;
    }
}
