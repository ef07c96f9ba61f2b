package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.distill4j.model.LoraConfig;
import org.distill4j.train.DeviceChoice;
import org.distill4j.train.Precision;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.PeftAdapter;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short real LoRA fine-tune of all-MiniLM-L6-v2 on an SST-2 slice. */
class LoraFineTuneTest {

    @TempDir
    Path tmp;

    @Test
    void loraTrainsOnlyAdaptersAndHeadAndBeatsChance() throws Exception {
        Path out = tmp.resolve("lora");
        FineTuneConfig cfg = new FineTuneConfig("builtin:all-minilm-l6-v2", GlueTask.SST2, 1, 2e-3f, 16, 64, 13, out,
                FineTunerTest.GLUE, false, 640, 0, DeviceChoice.CPU, Precision.FP32, LoraConfig.DEFAULT);
        FineTuner.Result r = new FineTuner(cfg).run(false);
        // Chance on SST-2 dev is 0.51 (444 of 872 positive); σ of accuracy on 872 examples ≈ 0.017, so
        // 0.60 is five σ above it.
        assertTrue(r.bestScore().score() > 0.60, "dev accuracy " + r.bestScore().summary());

        // Frozen weights are bit-identical to the base, and only adapters and head have optimizer state.
        StateDict trained = Safetensors.read(out.resolve("checkpoint/model.safetensors"));
        StateDict base = Checkpoint.load("builtin:all-minilm-l6-v2").weights();
        int frozen = 0;
        for (var e : trained.tensors().entrySet()) {
            String n = e.getKey();
            if (!n.contains(".lora_") && !n.startsWith("classifier.")) {
                assertArrayEquals(base.get(n).data(), e.getValue().data(), 0f, n + " must stay frozen");
                frozen++;
            }
        }
        assertEquals(base.tensors().keySet().stream().filter(n -> !n.startsWith("pooler.")).count(), frozen);
        Set<String> moments = new TreeSet<>(Safetensors.read(out.resolve("checkpoint/optimizer.safetensors"))
                .tensors().keySet());
        assertEquals(2 * (12 * 2 + 2), moments.size(), moments.toString());
        assertTrue(moments.stream().allMatch(n -> n.contains(".lora_") || n.contains("classifier.")), moments.toString());

        // best/ is the merged model; adapter/ the adapters alone, which merge back to the same model.
        assertTrue(PeftAdapter.isAdapter(out.resolve("adapter")));
        assertTrue(Files.size(out.resolve("adapter").resolve(PeftAdapter.WEIGHTS))
                < Files.size(out.resolve("best/model.safetensors")) / 50, "an adapter file is small");
        StateDict merged = Checkpoint.load(out.resolve("best").toString()).weights();
        StateDict fromAdapter = Checkpoint.load(out.resolve("adapter").toString()).weights();
        for (String n : new String[] {"encoder.layer.3.attention.self.query.weight", "classifier.weight"}) {
            assertArrayEquals(merged.get(n).data(), fromAdapter.get(n).data(), 1e-6f, n);
        }
        assertTrue(!java.util.Arrays.equals(merged.get("encoder.layer.3.attention.self.query.weight").data(),
                base.get("encoder.layer.3.attention.self.query.weight").data()), "the adapters trained");
    }
}
