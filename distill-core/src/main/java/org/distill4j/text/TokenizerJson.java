package org.distill4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Json;

/**
 * A BERT tokenizer.json checked in Java and rewritten from its typed values before the native
 * tokenizers library sees it. That library (Rust, inside DJL) aborts the whole JVM on some damaged
 * files: a component it cannot deserialize hits an {@code expect}, and a panic cannot cross the JNI
 * boundary. So every field it reads is checked here for presence, JSON type and range, and the copy
 * it gets holds nothing else: no unknown keys, no syntax it could trip on. Only the word-piece
 * layout of BERT-family models is accepted, which is what {@link BertTokenizer} implements.
 */
final class TokenizerJson {

    private static final long U32 = 0xffffffffL;

    private final String source;

    private TokenizerJson(String source) {
        this.source = source;
    }

    /** The canonical copy of {@code json}, or a {@link DistillException} naming the field at fault. */
    static byte[] checked(byte[] json, String source) {
        return new TokenizerJson(source).rewrite(json);
    }

    private byte[] rewrite(byte[] json) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new DistillException(source + ": tokenizer.json is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new DistillException(source + ": cannot read tokenizer.json: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw fail("", "a JSON object");
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("version", "1.0");
        // BertTokenizer sets truncation and padding itself.
        out.putNull("truncation");
        out.putNull("padding");
        ArrayNode added = out.putArray("added_tokens");
        JsonNode addedIn = root.path("added_tokens");
        if (!addedIn.isMissingNode() && !addedIn.isNull()) {
            if (!addedIn.isArray()) {
                throw fail("added_tokens", "an array");
            }
            for (int i = 0; i < addedIn.size(); i++) {
                JsonNode t = addedIn.get(i);
                String at = "added_tokens[" + i + "]";
                ObjectNode o = added.addObject();
                o.put("id", u32(t, "id", at));
                o.put("content", text(t, "content", at));
                for (String flag : new String[] {"single_word", "lstrip", "rstrip", "normalized", "special"}) {
                    o.put(flag, bool(t, flag, at, false));
                }
            }
        }
        out.set("normalizer", normalizer(root.path("normalizer")));
        JsonNode pre = root.path("pre_tokenizer");
        requireType(pre, "pre_tokenizer", "BertPreTokenizer");
        out.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        out.set("post_processor", postProcessor(root.path("post_processor")));
        JsonNode decoder = root.path("decoder");
        if (decoder.isMissingNode() || decoder.isNull()) {
            out.putNull("decoder");
        } else {
            requireType(decoder, "decoder", "WordPiece");
            ObjectNode d = out.putObject("decoder");
            d.put("type", "WordPiece");
            d.put("prefix", decoder.has("prefix") ? text(decoder, "prefix", "decoder") : "##");
            d.put("cleanup", bool(decoder, "cleanup", "decoder", true));
        }
        out.set("model", model(root.path("model")));
        try {
            return Json.MAPPER.writeValueAsBytes(out);
        } catch (IOException e) {
            throw new DistillException(source + ": cannot re-encode tokenizer.json: " + e.getMessage(), e);
        }
    }

    private ObjectNode normalizer(JsonNode n) {
        requireType(n, "normalizer", "BertNormalizer");
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("type", "BertNormalizer");
        o.put("clean_text", bool(n, "clean_text", "normalizer", true));
        o.put("handle_chinese_chars", bool(n, "handle_chinese_chars", "normalizer", true));
        JsonNode strip = n.path("strip_accents");
        if (strip.isMissingNode() || strip.isNull()) {
            o.putNull("strip_accents");
        } else if (strip.isBoolean()) {
            o.put("strip_accents", strip.booleanValue());
        } else {
            throw fail("normalizer.strip_accents", "true, false or null");
        }
        o.put("lowercase", bool(n, "lowercase", "normalizer", true));
        return o;
    }

    private ObjectNode postProcessor(JsonNode n) {
        if (!n.isObject()) {
            throw fail("post_processor", "an object of type TemplateProcessing or BertProcessing");
        }
        String type = text(n, "type", "post_processor");
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("type", type);
        if (type.equals("BertProcessing")) {
            for (String k : new String[] {"sep", "cls"}) {
                JsonNode pair = n.path(k);
                if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isTextual()) {
                    throw fail("post_processor." + k, "[token, id]");
                }
                o.putArray(k).add(pair.get(0).textValue()).add(u32(pair, 1, "post_processor." + k));
            }
            return o;
        }
        if (!type.equals("TemplateProcessing")) {
            throw fail("post_processor.type", "TemplateProcessing or BertProcessing (BERT's), not '" + type + "'");
        }
        for (String k : new String[] {"single", "pair"}) {
            JsonNode items = n.path(k);
            if (!items.isArray() || items.isEmpty()) {
                throw fail("post_processor." + k, "a non-empty array of template pieces");
            }
            ArrayNode a = o.putArray(k);
            for (int i = 0; i < items.size(); i++) {
                String at = "post_processor." + k + "[" + i + "]";
                JsonNode piece = items.get(i);
                JsonNode special = piece.path("SpecialToken");
                JsonNode sequence = piece.path("Sequence");
                if (piece.size() != 1 || !(special.isObject() || sequence.isObject())) {
                    throw fail(at, "{\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
                }
                ObjectNode p = a.addObject();
                if (special.isObject()) {
                    ObjectNode s = p.putObject("SpecialToken");
                    s.put("id", text(special, "id", at + ".SpecialToken"));
                    s.put("type_id", u32(special, "type_id", at + ".SpecialToken"));
                } else {
                    String id = text(sequence, "id", at + ".Sequence");
                    if (!id.equals("A") && !id.equals("B")) {
                        throw fail(at + ".Sequence.id", "\"A\" or \"B\"");
                    }
                    ObjectNode s = p.putObject("Sequence");
                    s.put("id", id);
                    s.put("type_id", u32(sequence, "type_id", at + ".Sequence"));
                }
            }
        }
        JsonNode specials = n.path("special_tokens");
        if (!specials.isObject()) {
            throw fail("post_processor.special_tokens", "an object");
        }
        ObjectNode so = o.putObject("special_tokens");
        for (Iterator<Map.Entry<String, JsonNode>> it = specials.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String at = "post_processor.special_tokens." + e.getKey();
            JsonNode t = e.getValue();
            ObjectNode s = so.putObject(e.getKey());
            s.put("id", text(t, "id", at));
            JsonNode ids = t.path("ids");
            JsonNode tokens = t.path("tokens");
            if (!ids.isArray() || !tokens.isArray() || ids.size() != tokens.size()) {
                throw fail(at, "\"ids\" and \"tokens\" arrays of one length");
            }
            ArrayNode idsOut = s.putArray("ids");
            ArrayNode tokensOut = s.putArray("tokens");
            for (int i = 0; i < ids.size(); i++) {
                idsOut.add(u32(ids, i, at + ".ids"));
                if (!tokens.get(i).isTextual()) {
                    throw fail(at + ".tokens[" + i + "]", "a string");
                }
                tokensOut.add(tokens.get(i).textValue());
            }
        }
        return o;
    }

    private ObjectNode model(JsonNode n) {
        requireType(n, "model", "WordPiece");
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("type", "WordPiece");
        String unk = text(n, "unk_token", "model");
        o.put("unk_token", unk);
        o.put("continuing_subword_prefix",
                n.has("continuing_subword_prefix") ? text(n, "continuing_subword_prefix", "model") : "##");
        o.put("max_input_chars_per_word",
                n.has("max_input_chars_per_word") ? u32(n, "max_input_chars_per_word", "model") : 100);
        JsonNode vocab = n.path("vocab");
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw fail("model.vocab", "a non-empty object of token: id");
        }
        ObjectNode v = o.putObject("vocab");
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            v.put(e.getKey(), u32(e.getValue(), "model.vocab." + e.getKey()));
        }
        if (!vocab.has(unk)) {
            throw fail("model.unk_token", "a token of model.vocab ('" + unk + "' is not)");
        }
        return o;
    }

    private void requireType(JsonNode n, String at, String type) {
        if (!n.isObject() || !type.equals(n.path("type").asText(null))) {
            throw fail(at, "an object of type " + type + " (distill4j reads BERT word-piece tokenizers)"
                    + (n.isObject() && n.has("type") ? ", not " + n.get("type") : ""));
        }
    }

    private String text(JsonNode n, String key, String at) {
        JsonNode v = n.path(key);
        if (!v.isTextual()) {
            throw fail(at + "." + key, "a string");
        }
        return v.textValue();
    }

    private boolean bool(JsonNode n, String key, String at, boolean missing) {
        JsonNode v = n.path(key);
        if (v.isMissingNode()) {
            return missing;
        }
        if (!v.isBoolean()) {
            throw fail(at + "." + key, "true or false");
        }
        return v.booleanValue();
    }

    private long u32(JsonNode n, String key, String at) {
        return u32(n.path(key), at + "." + key);
    }

    private long u32(JsonNode n, int index, String at) {
        return u32(n.path(index), at + "[" + index + "]");
    }

    private long u32(JsonNode v, String at) {
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0 || v.longValue() > U32) {
            throw fail(at, "an integer from 0 to " + U32);
        }
        return v.longValue();
    }

    private DistillException fail(String field, String expected) {
        return new DistillException(source + ": tokenizer.json field '" + (field.isEmpty() ? "(root)" : field)
                + "' must be " + expected);
    }
}
