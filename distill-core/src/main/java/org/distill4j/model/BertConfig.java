package org.distill4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distill4j.DistillException;
import org.distill4j.Json;

/**
 * The shape of a BERT encoder, with the keys and meaning of a HuggingFace {@code config.json}.
 *
 * @param vocabSize size of the word-piece vocabulary
 * @param hiddenSize width of every hidden state
 * @param numHiddenLayers number of transformer layers
 * @param numAttentionHeads heads per layer
 * @param attentionHeadSize width of each head's query, key and value; {@code hiddenSize / numAttentionHeads}
 *     in a model as pre-trained, other values after heads were pruned or for a student narrower per head
 *     ({@code attention_head_size} in {@code config.json}, written only when it is not that quotient)
 * @param intermediateSize width of the feed-forward layer
 * @param hiddenAct activation of the feed-forward layer ({@code gelu} only, as in BERT)
 * @param maxPositionEmbeddings longest sequence the position table covers
 * @param typeVocabSize number of segment (token type) ids
 * @param layerNormEps epsilon of every LayerNorm
 * @param hiddenDropoutProb dropout on embeddings and sub-layer outputs in training
 * @param attentionProbsDropoutProb dropout on attention probabilities in training
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int attentionHeadSize,
        int intermediateSize,
        String hiddenAct,
        int maxPositionEmbeddings,
        int typeVocabSize,
        float layerNormEps,
        float hiddenDropoutProb,
        float attentionProbsDropoutProb) {


    public BertConfig {
        require(vocabSize > 0, "vocab_size must be positive, got " + vocabSize);
        require(hiddenSize > 0, "hidden_size must be positive, got " + hiddenSize);
        require(numHiddenLayers > 0, "num_hidden_layers must be positive, got " + numHiddenLayers);
        require(numAttentionHeads > 0, "num_attention_heads must be positive, got " + numAttentionHeads);
        require(attentionHeadSize > 0, "attention_head_size must be positive, got " + attentionHeadSize);
        require(intermediateSize > 0, "intermediate_size must be positive, got " + intermediateSize);
        require("gelu".equals(hiddenAct),
                "hidden_act '" + hiddenAct + "' is not supported: BERT checkpoints use 'gelu'");
        require(maxPositionEmbeddings > 0, "max_position_embeddings must be positive");
        require(typeVocabSize > 0, "type_vocab_size must be positive");
        require(layerNormEps > 0, "layer_norm_eps must be positive");
        require(hiddenDropoutProb >= 0 && hiddenDropoutProb < 1, "hidden_dropout_prob must be in [0, 1)");
        require(attentionProbsDropoutProb >= 0 && attentionProbsDropoutProb < 1,
                "attention_probs_dropout_prob must be in [0, 1)");
    }

    /** A config whose heads split the hidden size evenly, as every pre-trained BERT's do. */
    public BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
            String hiddenAct, int maxPositionEmbeddings, int typeVocabSize, float layerNormEps, float hiddenDropoutProb,
            float attentionProbsDropoutProb) {
        this(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads,
                evenHeadSize(hiddenSize, numAttentionHeads), intermediateSize, hiddenAct, maxPositionEmbeddings,
                typeVocabSize, layerNormEps, hiddenDropoutProb, attentionProbsDropoutProb);
    }

    private static int evenHeadSize(int hiddenSize, int heads) {
        require(heads > 0 && hiddenSize % heads == 0, "num_attention_heads (" + heads + ") must divide hidden_size ("
                + hiddenSize + ") unless attention_head_size is given");
        return hiddenSize / heads;
    }

    /** BERT's defaults for everything but the size. */
    public static BertConfig of(int vocabSize, int hiddenSize, int layers, int heads, int intermediateSize) {
        return new BertConfig(vocabSize, hiddenSize, layers, heads, intermediateSize, "gelu", 512, 2,
                1e-12f, 0.1f, 0.1f);
    }

    /** The width of all heads together: the query, key and value projections' output size. */
    public int allHeadsSize() {
        return numAttentionHeads * attentionHeadSize;
    }

    /** A copy with another depth, e.g. for a student taken from a teacher's layers. */
    public BertConfig withLayers(int layers) {
        return new BertConfig(vocabSize, hiddenSize, layers, numAttentionHeads, attentionHeadSize, intermediateSize,
                hiddenAct, maxPositionEmbeddings, typeVocabSize, layerNormEps, hiddenDropoutProb,
                attentionProbsDropoutProb);
    }

    /** Reads a HuggingFace {@code config.json}; missing optional keys take BERT's defaults. */
    public static BertConfig read(Path file) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new DistillException("Cannot read model config " + file + ": " + e.getMessage(), e);
        }
        return fromJson(n, file);
    }

    /** The config in a parsed {@code config.json}; {@code file} names it in errors. */
    public static BertConfig fromJson(JsonNode n, Path file) {
        try {
            int hidden = requiredInt(n, "hidden_size", file);
            int heads = requiredInt(n, "num_attention_heads", file);
            int headSize = n.has("attention_head_size") ? requiredInt(n, "attention_head_size", file)
                    : evenHeadSize(hidden, heads);
            if (n.path("pruned_heads").size() > 0) {
                // HuggingFace's record of removed heads: the file holds the others, in order.
                headSize = evenHeadSize(hidden, heads);
                int layers = requiredInt(n, "num_hidden_layers", file);
                java.util.Set<Integer> counts = new java.util.TreeSet<>();
                for (int l = 0; l < layers; l++) {
                    java.util.Set<Integer> gone = new java.util.HashSet<>();
                    n.path("pruned_heads").path(Integer.toString(l)).forEach(h -> gone.add(h.asInt()));
                    counts.add(heads - gone.size());
                }
                if (counts.size() != 1) {
                    throw new IllegalArgumentException("pruned_heads leaves layers with " + counts + " heads; "
                            + "distill4j runs models with the same number of heads in every layer");
                }
                heads = counts.iterator().next();
            }
            return new BertConfig(
                    requiredInt(n, "vocab_size", file),
                    hidden,
                    requiredInt(n, "num_hidden_layers", file),
                    heads,
                    headSize,
                    requiredInt(n, "intermediate_size", file),
                    n.path("hidden_act").asText("gelu"),
                    n.path("max_position_embeddings").asInt(512),
                    n.path("type_vocab_size").asInt(2),
                    (float) n.path("layer_norm_eps").asDouble(1e-12),
                    (float) n.path("hidden_dropout_prob").asDouble(0.1),
                    (float) n.path("attention_probs_dropout_prob").asDouble(0.1));
        } catch (IllegalArgumentException e) {
            throw new DistillException(file + ": " + e.getMessage(), e);
        }
    }

    /** Writes a HuggingFace-compatible {@code config.json}. */
    public void write(Path file) {
        write(file, toJson());
    }

    /** Writes a {@code config.json} built from {@link #toJson()} (and added to by the caller). */
    public static void write(Path file, ObjectNode n) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Json.PRETTY.writeValue(file.toFile(), n);
        } catch (IOException e) {
            throw new DistillException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The encoder's part of a HuggingFace {@code config.json}. */
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.putArray("architectures").add("BertModel");
        n.put("model_type", "bert");
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        if (attentionHeadSize * numAttentionHeads != hiddenSize) {
            n.put("attention_head_size", attentionHeadSize);
            int original = hiddenSize / attentionHeadSize;
            if (hiddenSize % attentionHeadSize == 0 && original > numAttentionHeads) {
                // Heads were cut from a model of hidden / head size heads: HuggingFace builds that many
                // and removes the ones pruned_heads lists, so a cut model opens there too.
                n.put("num_attention_heads", original);
                ObjectNode pruned = n.putObject("pruned_heads");
                for (int l = 0; l < numHiddenLayers; l++) {
                    var list = pruned.putArray(Integer.toString(l));
                    for (int h = numAttentionHeads; h < original; h++) {
                        list.add(h);
                    }
                }
            }
        }
        n.put("intermediate_size", intermediateSize);
        n.put("hidden_act", hiddenAct);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("type_vocab_size", typeVocabSize);
        n.put("layer_norm_eps", (double) layerNormEps);
        n.put("hidden_dropout_prob", (double) hiddenDropoutProb);
        n.put("attention_probs_dropout_prob", (double) attentionProbsDropoutProb);
        n.put("position_embedding_type", "absolute");
        n.put("torch_dtype", "float32");
        return n;
    }

    private static int requiredInt(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new DistillException(file + ": key '" + key + "' is missing or not an integer");
        }
        return v.asInt();
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
