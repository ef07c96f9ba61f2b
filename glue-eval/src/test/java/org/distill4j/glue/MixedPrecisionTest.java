package org.distill4j.glue;

import static org.distill4j.glue.SmallDistillation.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.MixedPrecision;
import org.distill4j.train.Precision;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainerOptions;
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
        try (SmallDistillation d = new SmallDistillation(48, 32)) {
            Map<String, float[]> teacherBefore = values(d.teacher.namedParameters());
            Map<String, float[]> studentBefore = values(d.student.namedParameters());
            Path out = tmp.resolve("fp16");
            TrainerOptions o = SmallDistillation.options(out, "fp16").epochs(1).batchSize(16)
                    .precision(Precision.FP16).build();
            Trainer.Result r = d.trainer(o).run(false);

            assertEquals(30, r.steps());
            for (Parameter p : d.student.namedParameters().values()) {
                assertEquals(DataType.FLOAT32, p.getArray().getDataType(), "master " + p.getName() + " stays fp32");
            }
            values(d.teacher.namedParameters()).forEach((k, v) -> assertArrayEquals(teacherBefore.get(k), v, 0f, k));
            values(d.student.namedParameters()).forEach((k, v) -> assertFalse(java.util.Arrays.equals(
                    studentBefore.get(k), v), "student parameter " + k + " did not change"));
            assertTrue(r.skippedSteps() < 10, r.skippedSteps() + " overflow skips: the loss scale did not settle");

            List<JsonNode> lines = SmallDistillation.metricLines(out, "hidden_mse");
            assertTrue(lines.size() >= 4, lines.toString());
            assertTrue(lines.get(lines.size() - 1).get("hidden_mse").asDouble()
                    < 0.9 * lines.get(0).get("hidden_mse").asDouble(), lines.toString());
            JsonNode state = new ObjectMapper().readTree(out.resolve("checkpoint/state.json").toFile());
            assertTrue(state.path("loss_scale").asDouble() >= 1, state.toString());
        }
    }
}
