package org.distill4j.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distill4j.DistillException;
import org.distill4j.GlueSample;
import org.distill4j.Json;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraAdapters;
import org.distill4j.model.LoraConfig;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA adapters on the real all-MiniLM-L6-v2 with a two-class head: what trains, merging, and
 * adapter directories in PEFT's layout, written here or built as PEFT writes them.
 */
class PeftAdapterTest {

    private static final BertModel.Heads PAIR = new BertModel.Heads(false, false, 2);

    private static Checkpoint base;
    private static List<GlueSample.Text> texts;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        base = Checkpoint.load("builtin:all-minilm-l6-v2");
        texts = GlueSample.dev("MRPC", 3, 4, 8);
    }

    private static float[] logits(BertModel model, NDManager m) {
        try (BertTokenizer tok = base.tokenizer(128)) {
            TokenBatch batch = tok.batch(texts.stream().map(GlueSample.Text::first).toList(),
                    texts.stream().map(GlueSample.Text::second).toList());
            return model.predict(new ParameterStore(m, false), batch.toInput(m)).toFloatArray();
        }
    }

    /** Gives every adapter's B, and the head, values as if trained. */
    private static void pretendTrained(BertModel model, NDManager m) {
        model.namedParameters().forEach((name, p) -> {
            if (name.endsWith("lora_B.weight") || name.startsWith("classifier.")) {
                NDArray a = p.getArray();
                a.set(m.randomNormal(0f, 0.05f, a.getShape(), a.getDataType()).toFloatArray());
            }
        });
    }

    @Test
    void adaptersFreezeTheBackboneAndNameWhatTheyMatch() {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = base.toModel(m, PAIR)) {
            LoraAdapters a = LoraAdapters.attach(model, LoraConfig.DEFAULT);
            assertEquals(12, a.adapters().size(), "query and value of 6 layers");
            assertTrue(a.adapters().containsKey("encoder.layer.5.attention.self.value"));
            var frozen = a.frozen(model);
            assertTrue(frozen.contains("encoder.layer.0.attention.self.query.weight"));
            assertTrue(frozen.contains("embeddings.word_embeddings.weight"));
            assertFalse(frozen.contains("encoder.layer.0.attention.self.query.lora_A.weight"));
            assertFalse(frozen.contains("classifier.weight"));
            long[] share = a.trainableShare(model);
            // 12 adapters of r (384 + 384) and a 384 x 2 head with its bias.
            assertEquals(12L * 8 * (384 + 384) + 384 * 2 + 2, share[0]);
            assertTrue(a.describe(model).contains("0.33%"), a.describe(model));

            LoraConfig withNorms = new LoraConfig(4, 8f, 0f, List.of("encoder.layer.*.output.dense"), true, true);
            try (BertModel other = base.toModel(m, PAIR)) {
                LoraAdapters b = LoraAdapters.attach(other, withNorms);
                assertEquals(12, b.adapters().size(), "attention.output.dense and output.dense of 6 layers");
                assertTrue(b.trains("encoder.layer.2.intermediate.dense.bias"));
                assertTrue(b.trains("embeddings.LayerNorm.weight"));
                assertFalse(b.trains("encoder.layer.2.intermediate.dense.weight"));
            }
            try (BertModel other = base.toModel(m, PAIR)) {
                LoraConfig typo = LoraConfig.DEFAULT.with(8, 16f, List.of("querry"));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> LoraAdapters.attach(other, typo));
                assertTrue(e.getMessage().contains("attention.self.query"), e.getMessage());
            }
        }
    }

    @Test
    void mergingInPlaceAndOnSaveKeepsTheOutputs() {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = base.toModel(m, PAIR)) {
            LoraAdapters.attach(model, LoraConfig.DEFAULT);
            pretendTrained(model, m);
            float[] unmerged = logits(model, m);
            StateDict saved = StateDict.of(model, "test");
            assertFalse(saved.contains("encoder.layer.0.attention.self.query.lora_A.weight"),
                    "a saved model is a plain model");
            LoraAdapters.merge(model);
            assertTrue(LoraAdapters.on(model).isEmpty());
            assertFalse(model.namedParameters().containsKey("encoder.layer.0.attention.self.query.lora_A.weight"));
            float[] merged = logits(model, m);
            assertArrayEquals(unmerged, merged, 1e-5f * scale(unmerged));
            StateDict after = StateDict.of(model, "test");
            assertEquals(after.tensors().keySet(), saved.tensors().keySet());
            after.tensors().forEach((n, t) -> assertArrayEquals(t.data(), saved.get(n).data(), 0f, n));
        }
    }

    @Test
    void anAdapterDirectoryRoundTripsMergedAndUnmerged() throws Exception {
        Path dir = tmp.resolve("adapter");
        float[] expected;
        try (NDManager m = NDManager.newBaseManager(); BertModel model = base.toModel(m, PAIR)) {
            LoraAdapters a = LoraAdapters.attach(model, LoraConfig.DEFAULT);
            pretendTrained(model, m);
            expected = logits(model, m);
            PeftAdapter.write(dir, model, a, "builtin:all-minilm-l6-v2");
        }
        StateDict file = Safetensors.read(dir.resolve(PeftAdapter.WEIGHTS));
        assertTrue(file.contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"),
                file.tensors().keySet().toString());
        assertTrue(file.contains("base_model.model.classifier.weight"));
        assertTrue(file.contains("base_model.model.bert.pooler.dense.weight"), "HuggingFace's head reads a pooler");
        assertEquals(12 * 2 + 2 + 2, file.tensors().size(), "adapters, head and pass-through pooler only");
        var json = Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals("LORA", json.get("peft_type").asText());
        assertEquals(8, json.get("r").asInt());
        assertEquals(16.0, json.get("lora_alpha").asDouble());
        assertEquals("[\"query\",\"value\"]", json.get("target_modules").toString());
        assertEquals("builtin:all-minilm-l6-v2", json.get("base_model_name_or_path").asText());
        assertEquals("SEQ_CLS", json.get("task_type").asText());

        PeftAdapter read = PeftAdapter.read(dir);
        assertEquals(LoraConfig.DEFAULT, read.config());
        assertEquals(12, read.modules().size());
        assertFalse(read.tensors().contains("pooler.dense.weight"), "the pass-through pooler comes off");

        // Merged on load: the adapter directory is a model name like any other.
        assertEquals(6, Checkpoint.layersOf(dir.toString()), "the base's depth, for recipe checks");
        Checkpoint merged = Checkpoint.load(dir.toString());
        assertEquals(2, merged.weights().heads().taskOutputs());
        try (NDManager m = NDManager.newBaseManager(); BertModel model = merged.toModel(m)) {
            assertArrayEquals(expected, logits(model, m), 1e-5f * scale(expected));
        }
        // Run with its adapters, unmerged.
        try (NDManager m = NDManager.newBaseManager(); BertModel model = base.toModel(m, PAIR)) {
            read.attachTo(model);
            assertArrayEquals(expected, logits(model, m), 1e-6f * scale(expected));
        }
    }

    /**
     * An adapter directory as PEFT's save_pretrained writes one for BertForSequenceClassification:
     * its key names, its config fields (including ones this reader has no use for), a real pooler
     * in the base's place (none listed in modules_to_save). Built by hand, with known values, and
     * checked against the plain model with {@code W + (alpha / r) B A} put in by hand.
     */
    @Test
    void aPeftLayoutDirectoryLoadsAndGivesTheExpectedOutputs() throws Exception {
        Path dir = tmp.resolve("peft");
        Files.createDirectories(dir);
        int r = 4;
        float alpha = 32;
        Random rnd = new Random(7);
        StateDict tensors = new StateDict("peft");
        StateDict expectedWeights = new StateDict("expected");
        base.weights().tensors().forEach(expectedWeights::put);
        for (int layer = 0; layer < 6; layer++) {
            String path = "encoder.layer." + layer + ".attention.self.value";
            Tensor a = random(rnd, r, 384, 0.05f);
            Tensor b = random(rnd, 384, r, 0.05f);
            tensors.put("base_model.model.bert." + path + ".lora_A.weight", a);
            tensors.put("base_model.model.bert." + path + ".lora_B.weight", b);
            float[] w = expectedWeights.get(path + ".weight").data().clone();
            for (int o = 0; o < 384; o++) {
                for (int i = 0; i < 384; i++) {
                    double s = 0;
                    for (int k = 0; k < r; k++) {
                        s += b.data()[o * r + k] * a.data()[k * 384 + i];
                    }
                    w[o * 384 + i] += (float) (alpha / r * s);
                }
            }
            expectedWeights.put(path + ".weight", new Tensor(new long[] {384, 384}, w));
        }
        Tensor cw = random(rnd, 2, 384, 0.1f);
        Tensor cb = random(rnd, 2, 1, 0.1f);
        cb = new Tensor(new long[] {2}, cb.data());
        tensors.put("base_model.model.classifier.weight", cw);
        tensors.put("base_model.model.classifier.bias", cb);
        expectedWeights.put("classifier.weight", cw);
        expectedWeights.put("classifier.bias", cb);
        Safetensors.write(tensors, dir.resolve(PeftAdapter.WEIGHTS), Map.of("format", "pt"));
        Files.writeString(dir.resolve(PeftAdapter.CONFIG), """
                {"peft_type": "LORA", "task_type": "SEQ_CLS", "base_model_name_or_path": "builtin:all-minilm-l6-v2",
                 "r": 4, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": ["value"], "bias": "none",
                 "modules_to_save": ["classifier", "score"], "fan_in_fan_out": false, "use_rslora": false,
                 "use_dora": false, "rank_pattern": {}, "alpha_pattern": {}, "layers_to_transform": null,
                 "layers_pattern": null, "inference_mode": true, "init_lora_weights": true, "revision": null,
                 "peft_version": "0.21.0", "megatron_core": "megatron.core", "loftq_config": {}}
                """);
        Checkpoint expected = new Checkpoint("expected", base.config(), expectedWeights, base.tokenizerJson());
        try (NDManager m = NDManager.newBaseManager(); BertModel want = expected.toModel(m, PAIR);
                BertModel got = Checkpoint.load(dir.toString()).toModel(m, PAIR);
                BertModel unmerged = base.toModel(m, PAIR)) {
            float[] w = logits(want, m);
            assertArrayEquals(w, logits(got, m), 1e-5f * scale(w));
            LoraAdapters a = PeftAdapter.read(dir).attachTo(unmerged);
            assertEquals(6, a.adapters().size());
            assertEquals(alpha / r, a.adapters().values().iterator().next().scale());
            assertArrayEquals(w, logits(unmerged, m), 1e-5f * scale(w));
        }

        Files.writeString(dir.resolve(PeftAdapter.CONFIG), Files.readString(dir.resolve(PeftAdapter.CONFIG))
                .replace("\"use_dora\": false", "\"use_dora\": true"));
        DistillException e = assertThrows(DistillException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains("use_dora") && e.getMessage().contains(PeftAdapter.CONFIG), e.getMessage());
    }

    private static Tensor random(Random rnd, int rows, int cols, float std) {
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (rnd.nextGaussian() * std);
        }
        return new Tensor(new long[] {rows, cols}, d);
    }

    private static float scale(float[] v) {
        float s = 0;
        for (float x : v) {
            s = Math.max(s, Math.abs(x));
        }
        return Math.max(s, 1f);
    }
}
