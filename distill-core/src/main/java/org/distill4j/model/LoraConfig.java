package org.distill4j.model;

import java.util.List;

/**
 * How low-rank adapters are put on an encoder and what else trains beside them.
 *
 * @param rank r, each adapter's inner width
 * @param alpha the update is scaled by alpha / r
 * @param dropout dropout on each adapter's input while training
 * @param targets which projections get an adapter, as PEFT's {@code target_modules}: a name matches
 *     a module whose path is that name or ends in {@code .name} ({@code query} matches
 *     {@code encoder.layer.3.attention.self.query}); a name with {@code *} is a glob over the whole
 *     path ({@code encoder.layer.*.output.dense}). Only the encoder's projections are adapted.
 * @param trainBiases whether every bias of the encoder trains too (PEFT's {@code bias: all})
 * @param trainLayerNorm whether the LayerNorms train too
 */
public record LoraConfig(int rank, float alpha, float dropout, List<String> targets, boolean trainBiases,
        boolean trainLayerNorm) {

    /** r = 8, alpha = 16, dropout 0.1, query and value: the LoRA paper's setting for BERT-size encoders. */
    public static final LoraConfig DEFAULT = new LoraConfig(8, defaultAlpha(8), 0.1f, List.of("query", "value"), false,
            false);

    /**
     * alpha when only the rank is given: 2 r, the ratio of {@link #DEFAULT}, so that the update's
     * scale alpha / r stays 2 whatever the rank.
     */
    public static float defaultAlpha(int rank) {
        return 2f * rank;
    }

    public LoraConfig {
        targets = List.copyOf(targets);
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank must be at least 1, got " + rank);
        }
        if (!(alpha > 0)) {
            throw new IllegalArgumentException("LoRA alpha must be positive, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        }
        if (targets.isEmpty() || targets.stream().anyMatch(t -> t == null || t.isBlank())) {
            throw new IllegalArgumentException("LoRA targets must name at least one module (e.g. query, value), got "
                    + targets);
        }
    }

    /** The same setting with another rank, alpha and targets (the command line's flags). */
    public LoraConfig with(int rank, float alpha, List<String> targets) {
        return new LoraConfig(rank, alpha, dropout, targets, trainBiases, trainLayerNorm);
    }

    /** Whether the module at {@code path} is one of the targets. */
    public boolean targets(String path) {
        for (String t : targets) {
            if (t.contains("*") ? path.matches(glob(t)) : path.equals(t) || path.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }

    private static String glob(String g) {
        return java.util.Arrays.stream(g.split("\\*", -1)).map(java.util.regex.Pattern::quote)
                .collect(java.util.stream.Collectors.joining(".*"));
    }
}
