package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.loss.HiddenMseLoss;
import org.distill4j.loss.LossTerm;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.MixedPrecision;
import org.distill4j.train.Precision;
import org.distill4j.train.Trainer;
import org.distill4j.weights.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fp16 mixed precision on the CPU (PyTorch has half-precision CPU kernels; slow, but the same
 * arithmetic a GPU runs): the half-precision encoder agrees with fp32, and a distillation run
 * with fp32 master weights and loss scaling learns.
 */
class MixedPrecisionTest {

    static final Path GLUE = DistillationTest.GLUE;

    @TempDir
    Path tmp;

    @Test
    void halfPrecisionEncoderAgreesWithFp32AndHandsOutFp32() {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        Dataset dev = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.split("dev"), false);
        List<String> texts = dev.examples().subList(0, 16).stream().map(Example::textA).toList();
        try (NDManager root = NDManager.newBaseManager();
                BertModel model = ckpt.toModel(root, new BertModel.Heads(false, false, 0));
                BertTokenizer tok = ckpt.tokenizer(64);
                MixedPrecision mp = new MixedPrecision(Precision.FP16, Map.of(), List.of(model), root)) {
            EncoderInput in = tok.batch(texts, null).toInput(root);
            EncoderOutput full = model.encode(new ParameterStore(root, false), in, false);
            EncoderOutput half = model.encode(mp.store(), in, false);
            assertEquals(DataType.FLOAT32, half.lastHidden().getDataType(), "the encoder's outputs are fp32");
            assertEquals(DataType.FLOAT32, half.attentionProbs().get(0).getDataType());
            NDArray mask = in.attentionMask().toType(DataType.FLOAT32, false).expandDims(2);
            float diff = full.lastHidden().sub(half.lastHidden()).abs().mul(mask).max().getFloat();
            float scale = full.lastHidden().abs().mul(mask).max().getFloat();
            // fp16 keeps ~3 significant digits; after 6 layers the error stays well under a percent of the range.
            assertTrue(diff < 0.01f * scale, "fp16 differs from fp32 by " + diff + " (range " + scale + ")");
            assertTrue(diff > 0f, "the half-precision pass must really run in half precision");
        }
    }

    @Test
    void fp16DistillationLearnsWithFp32MasterWeights() throws Exception {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        Dataset train = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.train(), false);
        Dataset dev = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.split("dev"), false);
        Dataset devSlice = new Dataset(dev.task(), dev.split(), dev.file(), dev.examples().subList(0, 32), 0);
        Engine.getInstance().setRandomSeed(7);
        try (NDManager root = NDManager.newBaseManager();
                BertModel teacher = ckpt.toModel(root, new BertModel.Heads(false, false, 2));
                BertModel student = BertModel.create(BertConfig.of(ckpt.config().vocabSize(), 128, 2, 4, 512),
                        new BertModel.Heads(false, false, 2), root);
                BertTokenizer tok = ckpt.tokenizer(48)) {
            HiddenMseLoss hidden = new HiddenMseLoss("hidden_mse", 1f, LayerMapping.uniform(2, 6), 128, 384, root);
            List<LossTerm> terms = List.of(new SoftTargetLoss(1f, 2f), hidden);
            Map<String, float[]> teacherBefore = values(teacher.namedParameters());
            Map<String, float[]> studentBefore = values(student.namedParameters());
            Path out = tmp.resolve("fp16");
            Trainer.Options o = new Trainer.Options(1, 16, 5e-4f, 0.01f, 0.1, 1f, 1, 0, 0, 5, 9, false, out, "fp16")
                    .withPrecision(Precision.FP16);
            Trainer.Result r = new Trainer(o, student, teacher, tok, terms, false, GlueTraining.examples(train, 480),
                    GlueTraining.evaluator(List.of(devSlice), tok), (m, e) -> {}).run(false);

            assertEquals(30, r.steps());
            for (Parameter p : student.namedParameters().values()) {
                assertEquals(DataType.FLOAT32, p.getArray().getDataType(), "master " + p.getName() + " stays fp32");
            }
            values(teacher.namedParameters()).forEach((k, v) -> assertArrayEquals(teacherBefore.get(k), v, 0f, k));
            values(student.namedParameters()).forEach((k, v) -> assertFalse(java.util.Arrays.equals(
                    studentBefore.get(k), v), "student parameter " + k + " did not change"));
            assertTrue(r.skippedSteps() < 10, r.skippedSteps() + " overflow skips: the loss scale did not settle");

            ObjectMapper json = new ObjectMapper();
            List<JsonNode> lines = new ArrayList<>();
            for (String l : Files.readAllLines(out.resolve("metrics.jsonl"))) {
                JsonNode n = json.readTree(l);
                if (n.has("hidden_mse")) {
                    lines.add(n);
                }
            }
            assertTrue(lines.size() >= 4, lines.toString());
            assertTrue(lines.get(lines.size() - 1).get("hidden_mse").asDouble()
                    < 0.9 * lines.get(0).get("hidden_mse").asDouble(), lines.toString());
            JsonNode state = json.readTree(out.resolve("checkpoint/state.json").toFile());
            assertTrue(state.path("loss_scale").asDouble() >= 1, state.toString());
        }
    }

    private static Map<String, float[]> values(Map<String, Parameter> params) {
        Map<String, float[]> m = new LinkedHashMap<>();
        params.forEach((k, p) -> m.put(k, p.getArray().toFloatArray()));
        return m;
    }
}
