package org.distill4j.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.GlueSample;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.text.TokenBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoundTripTest {

    @TempDir
    Path tmp;

    @Test
    void convertThenReloadGivesIdenticalOutputs() {
        Checkpoint original = Checkpoint.load("builtin:all-minilm-l6-v2");
        Path dir = tmp.resolve("minilm");
        HfModelDirectory.write(original, dir);
        Checkpoint reloaded = Checkpoint.load(dir.toString());
        assertEquals(original.config(), reloaded.config());
        List<GlueSample.Text> texts = GlueSample.dev("MRPC", 3, 4, 8);
        try (NDManager m = NDManager.newBaseManager();
                BertModel a = original.toModel(m);
                BertModel b = reloaded.toModel(m);
                BertTokenizer tok = reloaded.tokenizer(128)) {
            TokenBatch batch = tok.batch(texts.stream().map(GlueSample.Text::first).toList(),
                    texts.stream().map(GlueSample.Text::second).toList());
            ParameterStore ps = new ParameterStore(m, false);
            float[] x = a.encode(ps, batch.toInput(m), false).lastHidden().toFloatArray();
            float[] y = b.encode(ps, batch.toInput(m), false).lastHidden().toFloatArray();
            assertArrayEquals(x, y, 0f);
        }
    }

    @Test
    void aHeadWithoutPoolerIsWrittenForHuggingFaceAndReadBackExactly() throws Exception {
        Checkpoint minilm = Checkpoint.load("builtin:all-minilm-l6-v2");
        List<GlueSample.Text> texts = GlueSample.dev("MRPC", 3, 4, 8);
        Path dir = tmp.resolve("mrpc");
        try (NDManager m = NDManager.newBaseManager(); BertTokenizer tok = minilm.tokenizer(128)) {
            BertModel trained = minilm.toModel(m, new BertModel.Heads(false, false, 2));
            StateDict weights = StateDict.of(trained, "mrpc");
            HfModelDirectory.write(new Checkpoint("mrpc", trained.config(), weights, minilm.tokenizerJson()), dir,
                    new HfModelDirectory.TaskHead(List.of("not_equivalent", "equivalent")));
            var config = org.distill4j.Json.MAPPER.readTree(dir.resolve("config.json").toFile());
            assertEquals("BertForSequenceClassification", config.get("architectures").get(0).asText());
            assertEquals(2, config.get("num_labels").asInt());
            assertEquals("equivalent", config.get("id2label").get("1").asText());
            assertEquals(0, config.get("label2id").get("not_equivalent").asInt());
            assertEquals("single_label_classification", config.get("problem_type").asText());
            // Read back by distill4j: the very tensors that were trained, no pooler.
            Checkpoint back = Checkpoint.load(dir.toString());
            assertEquals(false, back.weights().heads().pooler());
            for (String name : weights.tensors().keySet()) {
                assertArrayEquals(weights.get(name).data(), back.weights().get(name).data(), 0f, name);
            }
            // Read as HuggingFace does (pooler and scaled head as stored): the same logits within 1e-5.
            StateDict stored = Safetensors.read(dir.resolve("model.safetensors"));
            BertModel hf = new Checkpoint("as stored", trained.config(), stored, minilm.tokenizerJson()).toModel(m);
            assertEquals(true, hf.heads().pooler());
            TokenBatch batch = tok.batch(texts.stream().map(GlueSample.Text::first).toList(),
                    texts.stream().map(GlueSample.Text::second).toList());
            ParameterStore ps = new ParameterStore(m, false);
            float[] want = trained.predict(ps, batch.toInput(m)).toFloatArray();
            float[] got = hf.predict(ps, batch.toInput(m)).toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), "logit " + i);
            }
        }
    }

    @Test
    void safetensorsReadsHalfPrecisionAndStripsBertPrefix() throws Exception {
        // A file written by hand in the format's layout: F16 values 1.0, -2.0, 0.5, 65504.
        String header = "{\"bert.x\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var buf = java.nio.ByteBuffer.allocate(8 + h.length + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (short s : new short[] {0x3c00, (short) 0xc000, 0x3800, 0x7bff}) {
            buf.putShort(s);
        }
        Path f = tmp.resolve("h.safetensors");
        Files.write(f, buf.array());
        Tensor t = Safetensors.read(f).get("x");
        assertArrayEquals(new long[] {2, 2}, t.shape());
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 65504f}, t.data());
    }

    @Test
    void notAnOnnxFileIsReportedAsSuch() {
        DistillException e = assertThrows(DistillException.class,
                () -> OnnxBertReader.read(new ByteArrayInputStream("hello, not protobuf".getBytes()), "bad.onnx", 0));
        assertTrue(e.getMessage().contains("bad.onnx"), e.getMessage());
        assertTrue(e.getMessage().contains("not an ONNX model"), e.getMessage());
    }

    @Test
    void missingAndMisshapenTensorsAreNamed() {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        StateDict broken = new StateDict("broken.safetensors");
        ckpt.weights().tensors().forEach(broken::put);
        StateDict missing = new StateDict("broken.safetensors");
        for (Map.Entry<String, Tensor> e : ckpt.weights().tensors().entrySet()) {
            if (!e.getKey().equals("encoder.layer.2.attention.self.key.weight")) {
                missing.put(e.getKey(), e.getValue());
            }
        }
        missing.put("encoder.layer.3.output.dense.bias", new Tensor(new long[] {5}, new float[5]));
        try (NDManager m = NDManager.newBaseManager();
                BertModel model = BertModel.create(ckpt.config(), BertModel.Heads.NONE, m)) {
            DistillException e = assertThrows(DistillException.class, () -> missing.copyInto(model));
            assertTrue(e.getMessage().contains("broken.safetensors"), e.getMessage());
            assertTrue(e.getMessage().contains("missing tensor 'encoder.layer.2.attention.self.key.weight'"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("'encoder.layer.3.output.dense.bias' has shape [5] but the config needs [384]"),
                    e.getMessage());
        }
    }

    @Test
    void configWithImpossibleHeadCountIsRefusedNamingTheFile() throws Exception {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"vocab_size\":100,\"hidden_size\":30,\"num_hidden_layers\":2,"
                + "\"num_attention_heads\":4,\"intermediate_size\":64}");
        DistillException e = assertThrows(DistillException.class, () -> BertConfig.read(cfg));
        assertTrue(e.getMessage().contains(cfg.toString()) && e.getMessage().contains("must divide hidden_size"),
                e.getMessage());
    }

    @Test
    void onnxFileOnDiskLoadsLikeTheBuiltinAndNeedsItsTokenizerBeside() throws Exception {
        Path dir = tmp.resolve("onnx");
        Files.createDirectories(dir);
        Path onnx = dir.resolve("model.onnx");
        try (var in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            Files.copy(in, onnx);
        }
        DistillException e = assertThrows(DistillException.class, () -> Checkpoint.load(onnx.toString()));
        assertTrue(e.getMessage().contains("No tokenizer.json beside " + onnx), e.getMessage());
        try (var in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        Checkpoint fromFile = Checkpoint.load(onnx.toString());
        Checkpoint builtin = Checkpoint.load("builtin:all-minilm-l6-v2");
        assertEquals(builtin.config(), fromFile.config());
        assertEquals(builtin.weights().tensors().keySet(), fromFile.weights().tensors().keySet());
        for (String name : builtin.weights().tensors().keySet()) {
            assertArrayEquals(builtin.weights().get(name).data(), fromFile.weights().get(name).data(), 0f, name);
        }
    }
}
