package org.distill4j.serve;

import java.util.Locale;

/** The engine that runs the encoder behind {@link TextEmbedder} and {@link TextClassifier}. */
public enum Backend {
    /** distill4j's encoder on DJL's PyTorch engine: any model the CLI takes. */
    DJL,
    /** ONNX Runtime: an ONNX file (an exported model, or a builtin that ships as ONNX). */
    ONNX;

    /** {@code djl} or {@code onnx}, any case. */
    public static Backend parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown backend '" + name + "': expected djl or onnx", e);
        }
    }

    /** The lower-case name used on the command line and by the server's /info. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
