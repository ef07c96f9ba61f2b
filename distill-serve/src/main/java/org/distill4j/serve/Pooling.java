package org.distill4j.serve;

import java.util.Locale;

/** How the token vectors of a text become one sentence vector. */
public enum Pooling {
    /** Mean over real (non-padding) tokens: what sentence-transformers models such as all-MiniLM-L6-v2 are trained for. */
    MEAN,
    /** The [CLS] token's vector: bge models. */
    CLS;

    /** {@code mean} or {@code cls}, any case. */
    public static Pooling parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("pooling must be 'mean' or 'cls', got '" + name + "'", e);
        }
    }
}
