package org.distill4j.integrations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.output.Response;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.GlueSample;
import org.distill4j.model.BertModel;
import org.distill4j.serve.Backend;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.Prediction;
import org.distill4j.serve.TextClassifier;
import org.distill4j.serve.TextEmbedder;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.OnnxExport;
import org.distill4j.weights.StateDict;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The adapters give what the serving API gives, on real all-MiniLM-L6-v2 weights and GLUE dev texts. */
class IntegrationsTest {

    @TempDir
    static Path dir;

    static Path exported;
    static List<String> texts;

    @BeforeAll
    static void export() throws Exception {
        texts = GlueSample.dev("SST-2", 0, -1, 8).stream().map(GlueSample.Text::first).toList();
        Checkpoint minilm = Checkpoint.load("builtin:all-minilm-l6-v2");
        exported = dir.resolve("sst2");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel model = minilm.toModel(m, new BertModel.Heads(false, false, 2));
            Checkpoint withHead = new Checkpoint("sst2", model.config(), StateDict.of(model, "sst2"),
                    minilm.tokenizerJson());
            OnnxExport.write(withHead, exported.resolve("model.onnx"), OnnxExport.Options.FP32);
        }
        Files.write(exported.resolve("tokenizer.json"), minilm.tokenizerJson());
        Files.writeString(exported.resolve("distill.json"),
                "{\"task\":\"SST-2\",\"max_length\":64,\"labels\":[\"negative\",\"positive\"]}");
    }

    @Test
    void criteriaLoadsAnExportedModelForVectorsAndLabels() throws Exception {
        InferenceOptions onnx = InferenceOptions.defaults().withBackend(Backend.ONNX);
        Criteria<String, float[]> vectors = Criteria.builder().setTypes(String.class, float[].class)
                .optModelPath(exported).optEngine("OnnxRuntime").optTranslatorFactory(new DistillTranslatorFactory())
                .optArgument("pooling", "mean").build();
        try (ZooModel<String, float[]> model = vectors.loadModel(); Predictor<String, float[]> p = model.newPredictor();
                TextEmbedder want = TextEmbedder.load(exported.toString(), Pooling.MEAN, true, onnx)) {
            for (String t : texts) {
                assertArrayEquals(want.embed(t), p.predict(t), 1e-5f, t);
            }
        }
        Criteria<String, Classifications> labels = Criteria.builder().setTypes(String.class, Classifications.class)
                .optModelPath(exported).optEngine("OnnxRuntime").optTranslatorFactory(new DistillTranslatorFactory())
                .build();
        try (ZooModel<String, Classifications> model = labels.loadModel();
                Predictor<String, Classifications> p = model.newPredictor();
                TextClassifier want = TextClassifier.load(exported.toString(), onnx)) {
            for (String t : texts) {
                Prediction w = want.predict(t);
                Classifications c = p.predict(t);
                assertEquals(w.label(), c.best().getClassName(), t);
                assertEquals(w.score(), c.best().getProbability(), 1e-5, t);
            }
        }
    }

    @Test
    void langchain4jEmbeddingModelGivesTheApisNormalisedVectors() {
        try (DistillEmbeddingModel model = DistillEmbeddingModel.load("builtin:all-minilm-l6-v2", Pooling.MEAN);
                TextEmbedder want = TextEmbedder.load("builtin:all-minilm-l6-v2", Pooling.MEAN, true)) {
            assertEquals(384, model.dimension());
            Response<List<Embedding>> r = model.embedAll(texts.stream().map(TextSegment::from).toList());
            float[][] expected = want.embed(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(expected[i], r.content().get(i).vector(), 1e-6f);
            }
            assertEquals(want.embedAll(texts, null).stream().mapToInt(org.distill4j.serve.Embedding::tokens).sum(),
                    r.tokenUsage().inputTokenCount());
            assertArrayEquals(expected[0], model.embed(texts.get(0)).content().vector(), 1e-6f);
        }
    }
}
