package org.distill4j.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;

/**
 * Builds a HuggingFace tokenizer.json for a checkpoint that ships only a WordPiece
 * {@code vocab.txt} (Google's original BERT releases). The result is what HuggingFace's
 * {@code BertTokenizerFast} produces: BERT normalizer (clean text, CJK spacing, lower-casing and
 * accent stripping for uncased models), BERT pre-tokenizer, WordPiece with {@code ##}
 * continuation and [UNK], [CLS]/[SEP] templates with token types 0 and 1, and the special tokens
 * registered so that a literal "[MASK]" in text stays one token.
 */
public final class WordPieceTokenizerJson {

    private static final List<String> SPECIAL = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

    private WordPieceTokenizerJson() {}

    /**
     * @param vocabTxt one token per line; the line number is the id
     * @param lowerCase true for uncased models
     */
    public static byte[] fromVocab(String vocabTxt, boolean lowerCase) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        String[] lines = vocabTxt.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String token = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (i == lines.length - 1 && token.isEmpty()) {
                break; // trailing newline
            }
            vocab.putIfAbsent(token, i);
        }
        for (String s : SPECIAL) {
            if (!vocab.containsKey(s)) {
                throw new DistillException("vocab.txt has no " + s + " token; is it a BERT WordPiece vocabulary?");
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : SPECIAL) {
            ObjectNode t = added.addObject();
            t.put("id", vocab.get(s));
            t.put("content", s);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "BertNormalizer");
        norm.put("clean_text", true);
        norm.put("handle_chinese_chars", true);
        norm.putNull("strip_accents"); // null: follow lowercase, as BERT's uncased models do
        norm.put("lowercase", lowerCase);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        special(single, "[CLS]", 0);
        sequence(single, "A", 0);
        special(single, "[SEP]", 0);
        ArrayNode pair = post.putArray("pair");
        special(pair, "[CLS]", 0);
        sequence(pair, "A", 0);
        special(pair, "[SEP]", 0);
        sequence(pair, "B", 1);
        special(pair, "[SEP]", 1);
        ObjectNode specials = post.putObject("special_tokens");
        for (String s : new String[] {"[CLS]", "[SEP]"}) {
            ObjectNode t = specials.putObject(s);
            t.put("id", s);
            t.putArray("ids").add(vocab.get(s));
            t.putArray("tokens").add(s);
        }
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "WordPiece");
        decoder.put("prefix", "##");
        decoder.put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece");
        model.put("unk_token", "[UNK]");
        model.put("continuing_subword_prefix", "##");
        model.put("max_input_chars_per_word", 100);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        try {
            return json.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DistillException("Cannot build tokenizer.json: " + e.getMessage(), e);
        }
    }

    private static void special(ArrayNode a, String id, int type) {
        ObjectNode t = a.addObject().putObject("SpecialToken");
        t.put("id", id);
        t.put("type_id", type);
    }

    private static void sequence(ArrayNode a, String id, int type) {
        ObjectNode t = a.addObject().putObject("Sequence");
        t.put("id", id);
        t.put("type_id", type);
    }
}
