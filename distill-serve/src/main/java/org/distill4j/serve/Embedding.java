package org.distill4j.serve;

/**
 * One text's vector.
 *
 * @param vector the sentence vector ({@link TextEmbedder#dimension()} values)
 * @param tokens the tokens the model read, special tokens included (after truncation)
 * @param truncated whether the text was longer than the model's maximum length and was cut
 */
public record Embedding(float[] vector, int tokens, boolean truncated) {}
