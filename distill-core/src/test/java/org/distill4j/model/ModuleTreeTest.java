package org.distill4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.GlueSample;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The module tree is the parameter registry (modules attached or swapped in later count), and a
 * config can have fewer heads than hidden/heads, as pruned models do.
 */
class ModuleTreeTest {

    @TempDir
    Path tmp;

    @Test
    void attachedModulesAppearInTheRegistryAndAreInitialised() {
        Engine.getInstance().setRandomSeed(1);
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(BertConfig.of(100, 32, 1, 2, 64), BertModel.Heads.NONE, m)) {
            int before = model.namedParameters().size();
            assertEquals("embeddings.word_embeddings.weight", model.namedParameters().keySet().iterator().next());
            model.attach("extra", new Dense(32, 8));
            model.initializeNew();
            assertEquals(before + 2, model.namedParameters().size());
            assertTrue(model.namedParameters().get("extra.weight").isInitialized());
            assertTrue(model.modules().containsKey("encoder.layer.0.attention.self.query"));
            assertTrue(model.modules().get("extra") instanceof Dense);
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                    () -> model.attach("extra", new Dense(32, 8)));
            assertTrue(twice.getMessage().contains("already has a module 'extra'"), twice.getMessage());
            IllegalArgumentException nowhere = assertThrows(IllegalArgumentException.class,
                    () -> model.replace("encoder.layer.7.query", d -> d));
            assertTrue(nowhere.getMessage().startsWith("no module at 'encoder.layer.7.query'"), nowhere.getMessage());
        }
    }

    @Test
    void headsNarrowerThanHiddenOverHeadsRunAndRoundTrip() {
        // 3 heads of 8 in a 32-wide model: the query, key and value project 32 -> 24 and the output 24 -> 32.
        BertConfig pruned = new BertConfig(30522, 32, 2, 3, 8, 64, "gelu", 512, 2, 1e-12f, 0.1f, 0.1f);
        assertEquals(24, pruned.allHeadsSize());
        pruned.write(tmp.resolve("config.json"));
        assertEquals(pruned, BertConfig.read(tmp.resolve("config.json")));
        BertConfig even = BertConfig.of(30522, 32, 2, 4, 64);
        even.write(tmp.resolve("even.json"));
        assertEquals(8, BertConfig.read(tmp.resolve("even.json")).attentionHeadSize());
        assertFalse(readText(tmp.resolve("even.json")).contains("attention_head_size"),
                "an even split writes the plain HuggingFace keys");
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<GlueSample.Text> texts = GlueSample.dev("SST-2", 0, -1, 3);
        Engine.getInstance().setRandomSeed(2);
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(pruned, BertModel.Heads.NONE, m);
                BertTokenizer tok = ckpt.tokenizer(32);
                NDManager step = m.newSubManager()) {
            assertEquals(new Shape(24, 32), model.namedParameters().get("encoder.layer.0.attention.self.query.weight")
                    .getShape());
            assertEquals(new Shape(32, 24), model.namedParameters().get("encoder.layer.0.attention.output.dense.weight")
                    .getShape());
            EncoderOutput out = model.encode(new ParameterStore(m, false),
                    tok.batch(texts.stream().map(GlueSample.Text::first).toList(), null).toInput(step), false);
            assertEquals(3, out.probs(1).getShape().get(1));
            assertEquals(32, out.lastHidden().getShape().get(2));
        }
    }

    private static String readText(Path p) {
        try {
            return java.nio.file.Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
