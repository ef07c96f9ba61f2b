package org.distill4j.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;

/**
 * Word-piece tokenization through DJL's HuggingFace tokenizers, configured the way BERT
 * fine-tuning expects: [CLS] a [SEP] (b [SEP]), token types 0 then 1, truncation to a maximum
 * length (longest sequence first for pairs), and dynamic padding to the longest row of a batch.
 * Whatever padding the tokenizer.json itself declares is switched off.
 */
public final class BertTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final byte[] json;
    private final int maxLength;
    private final long padId;

    private BertTokenizer(byte[] json, int maxLength, String source) {
        if (maxLength < 3) {
            throw new IllegalArgumentException("max length must be at least 3 ([CLS] x [SEP]), got " + maxLength);
        }
        this.json = json;
        this.maxLength = maxLength;
        try {
            // Checked and rewritten first: the native library aborts the JVM on some damaged files.
            byte[] safe = TokenizerJson.checked(json, source);
            this.tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(safe), Map.of(
                    "addSpecialTokens", "true",
                    "truncation", "longest_first",
                    "maxLength", Integer.toString(maxLength),
                    "padding", "false"));
        } catch (DistillException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new DistillException("Cannot load tokenizer from " + source + ": " + e.getMessage(), e);
        }
        Encoding pad = tokenizer.encode("[PAD]", false, false);
        this.padId = pad.getIds().length == 1 ? pad.getIds()[0] : 0;
    }

    /** Loads a HuggingFace tokenizer.json. */
    public static BertTokenizer fromJson(byte[] tokenizerJson, int maxLength, String source) {
        return new BertTokenizer(tokenizerJson, maxLength, source);
    }

    public static BertTokenizer fromFile(Path tokenizerJson, int maxLength) {
        try {
            return new BertTokenizer(Files.readAllBytes(tokenizerJson), maxLength, tokenizerJson.toString());
        } catch (IOException e) {
            throw new DistillException("Cannot read tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** The tokenizer.json this tokenizer was built from. */
    public byte[] json() {
        return json.clone();
    }

    public int maxLength() {
        return maxLength;
    }

    /** Tokens of one text or pair (second may be null), with special tokens. */
    public Encoding encode(String first, String second) {
        return second == null ? tokenizer.encode(first) : tokenizer.encode(first, second);
    }

    /** Word-piece ids of a text without special tokens. */
    public long[] ids(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    /** A text's word pieces without special tokens, with each piece's word index and character span. */
    public Encoding encodeWords(String text) {
        return tokenizer.encode(text, false, false);
    }

    public String[] tokens(String text) {
        return tokenizer.encode(text, false, false).getTokens();
    }

    public long tokenId(String token) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        if (ids.length != 1) {
            throw new IllegalArgumentException("'" + token + "' is not a single token in this vocabulary");
        }
        return ids[0];
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    /**
     * Tokenizes texts (and optional second texts, same length or null) and pads to the longest row
     * (dynamic padding: the cheapest shape, what training and inference on CPU want).
     */
    public TokenBatch batch(List<String> first, List<String> second) {
        return batch(first, second, false);
    }

    /**
     * Tokenizes texts (and optional second texts, same length or null).
     *
     * @param padToMaxLength pad every row to {@link #maxLength()} instead of the longest row
     *     (fixed shapes, e.g. for an exported graph or a benchmark)
     */
    public TokenBatch batch(List<String> first, List<String> second, boolean padToMaxLength) {
        return tokenize(first, second, padToMaxLength).batch();
    }

    /**
     * A padded batch and which of its rows lost tokens to {@link #maxLength()}.
     *
     * @param truncated per row, whether the text (or pair) was longer than the maximum length and cut
     */
    public record Tokenized(TokenBatch batch, boolean[] truncated) {}

    /** {@link #batch(List, List, boolean)}, saying which rows were truncated. */
    public Tokenized tokenize(List<String> first, List<String> second, boolean padToMaxLength) {
        if (second != null && second.size() != first.size()) {
            throw new IllegalArgumentException(first.size() + " first texts but " + second.size() + " second texts");
        }
        Encoding[] enc = new Encoding[first.size()];
        boolean[] truncated = new boolean[enc.length];
        int seq = padToMaxLength ? maxLength : 1;
        for (int i = 0; i < enc.length; i++) {
            enc[i] = encode(first.get(i), second == null ? null : second.get(i));
            truncated[i] = enc[i].exceedMaxLength();
            seq = Math.max(seq, enc[i].getIds().length);
        }
        int b = enc.length;
        long[] ids = new long[b * seq];
        long[] types = new long[b * seq];
        long[] mask = new long[b * seq];
        java.util.Arrays.fill(ids, padId);
        for (int i = 0; i < b; i++) {
            long[] e = enc[i].getIds();
            System.arraycopy(e, 0, ids, i * seq, e.length);
            System.arraycopy(enc[i].getTypeIds(), 0, types, i * seq, e.length);
            java.util.Arrays.fill(mask, i * seq, i * seq + e.length, 1L);
        }
        return new Tokenized(new TokenBatch(ids, types, mask, b, seq), truncated);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
