package org.distill4j.serve;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A classifier's answer for one text or pair.
 *
 * @param label the most probable label, or null for a regression model
 * @param score the label's probability, or a regression model's value (STS-B: 0 to 5)
 * @param scores every label's probability in the model's label order; empty for regression
 * @param tokens the tokens the model read, special tokens included (after truncation)
 * @param truncated whether the input was longer than the model's maximum length and was cut
 */
public record Prediction(String label, float score, Map<String, Float> scores, int tokens, boolean truncated) {

    public Prediction {
        scores = Collections.unmodifiableMap(new LinkedHashMap<>(scores));
    }
}
