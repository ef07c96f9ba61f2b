package org.distill4j.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recipes are checked before any work: every problem named with file, line and key. */
class RecipeFileTest {

    static final String GOOD = """
            name: t
            method: pkd
            task: MRPC
            teacher:
              model: runs/teachers/minilm/MRPC/best
            student:
              layers: [1, 2, 3]
            distill:
              strategy: last
            train:
              epochs: 2
            """;

    @TempDir
    Path tmp;

    private Path file(String text) throws IOException {
        Path f = tmp.resolve("r.yaml");
        Files.writeString(f, text);
        return f;
    }

    private List<String> problems(String text, String... overrides) throws IOException {
        Path f = file(text);
        return assertThrows(RecipeFile.InvalidRecipe.class, () -> RecipeFile.read(f, List.of(overrides))).problems();
    }

    @Test
    void alphaIsRefusedWithTheKeysThatReplacedIt() throws IOException {
        List<String> p = problems(GOOD.replace("strategy: last", "alpha: 0.7"));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("distill.alpha: renamed") && p.get(0).contains("hard_weight and soft_weight"),
                p.get(0));
        // The weights keep their meaning when the method changes.
        Recipe.Resolved r = RecipeFile.read(file(GOOD.replace("strategy: last", "soft_weight: 0.7")),
                List.of("method=distilbert"));
        assertEquals(0.7, r.config().distill().get("soft_weight"));
    }

    @Test
    void validRecipeGetsItsDefaults() throws IOException {
        Recipe.Resolved r = RecipeFile.read(file(GOOD), List.of());
        assertEquals("pkd", r.recipe().method());
        assertEquals(128, r.config().data().maxLength());
        assertEquals("last", r.config().distill().get("strategy"));
        assertEquals(100.0, r.config().distill().get("beta"));
        assertEquals(2, r.config().train().epochs());
        assertEquals("runs/t", r.config().output().dir());
        // Written out and read back, the resolved recipe is the same recipe (same hash).
        Path again = tmp.resolve("again.yaml");
        Files.writeString(again, RecipeFile.write(r.config()));
        assertEquals(RecipeFile.hash(r.config()), RecipeFile.hash(RecipeFile.read(again, List.of()).config()));
    }

    @Test
    void distilBertMlmOffIsAcceptedAlthoughYamlReadsItAsFalse() throws IOException {
        String distilbert = GOOD.replace("method: pkd", "method: distilbert").replace("strategy: last", "mlm: off");
        Recipe.Resolved r = RecipeFile.read(file(distilbert), List.of());
        assertEquals("off", r.config().distill().get("mlm"));
        Recipe.Resolved set = RecipeFile.read(file(GOOD.replace("method: pkd", "method: distilbert")
                .replace("  strategy: last", "  cosine: 1.0")), List.of("distill.mlm=off"));
        assertEquals("off", set.config().distill().get("mlm"));
        Path again = tmp.resolve("again.yaml");
        Files.writeString(again, RecipeFile.write(r.config()));
        assertEquals(RecipeFile.hash(r.config()), RecipeFile.hash(RecipeFile.read(again, List.of()).config()));
        List<String> p = problems(distilbert.replace("mlm: off", "mlm: sometimes"));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("distill.mlm: auto, off, or a weight; got 'sometimes'"), p.get(0));
    }

    @Test
    void loraSectionGetsDefaultsIsCheckedAndLeavesOtherHashesAlone() throws IOException {
        Recipe.Resolved plain = RecipeFile.read(file(GOOD), List.of());
        assertFalse(RecipeFile.write(plain.config()).contains("lora"), "a recipe without LoRA writes no lora key");
        Recipe.Resolved r = RecipeFile.read(file(GOOD + "lora:\n  rank: 4\n"), List.of());
        RecipeConfig.Lora l = r.config().lora();
        assertEquals(new RecipeConfig.Lora(4, 8.0, 0.1, List.of("query", "value"), false, false), l);
        assertNotEquals(RecipeFile.hash(plain.config()), RecipeFile.hash(r.config()));
        Path again = tmp.resolve("again.yaml");
        Files.writeString(again, RecipeFile.write(r.config()));
        assertEquals(RecipeFile.hash(r.config()), RecipeFile.hash(RecipeFile.read(again, List.of()).config()));

        List<String> p = problems(GOOD + "lora:\n  rank: 0\n  dropout: 1.5\n  targets: []\n  rnak: 3\n");
        assertEquals(4, p.size(), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("lora.rnak: unknown key")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.matches(".*r\\.yaml:13: lora\\.rank: must be in \\[1, 4096\\].*")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("lora.dropout: must be in [0, 1)")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("lora.targets: name at least one")), p.toString());
        List<String> shape = problems(GOOD.replace("  layers: [1, 2, 3]", "  shape: {layers: 2, hidden: 64, heads: 2, "
                + "intermediate: 128}") + "lora:\n  rank: 4\n");
        assertTrue(shape.stream().anyMatch(x -> x.contains("lora: adapters on a new random student.shape")),
                shape.toString());
    }

    @Test
    void aShapeWithLayersOrAnInitNarrowsThemAndMustCountTheSameLayers() throws IOException {
        String narrowed = GOOD.replace("  layers: [1, 2, 3]", "  layers: [1, 2, 3]\n  shape: {layers: 3, hidden: 312, "
                + "heads: 12, intermediate: 1200}");
        RecipeConfig.Student s = RecipeFile.read(file(narrowed), List.of()).config().student();
        assertEquals(List.of(1, 2, 3), s.layers());
        assertEquals(312, s.shape().hidden());
        List<String> p = problems(narrowed.replace("shape: {layers: 3", "shape: {layers: 2"));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("student.layers: names 3 layers but student.shape.layers is 2"), p.toString());
        String withInit = GOOD.replace("  layers: [1, 2, 3]", "  init: builtin:all-minilm-l6-v2\n  shape: {layers: 3, "
                + "hidden: 312, heads: 12, intermediate: 1200}");
        assertEquals(List.of(2, 4, 6), RecipeFile.read(file(withInit), List.of()).config().student().layers(),
                "TinyBERT's uniform layers, resolved");
        List<String> deep = problems(withInit.replace("shape: {layers: 3", "shape: {layers: 8"));
        assertTrue(deep.stream().anyMatch(x -> x.contains("student.shape.layers: 8 layers narrowed from "
                + "builtin:all-minilm-l6-v2, which has 6")), deep.toString());
        assertEquals(List.of(2, 4, 6), StudentInit.uniformLayers(3, 6));
        assertEquals(List.of(3, 6, 9, 12), StudentInit.uniformLayers(4, 12));
    }

    @Test
    void qatSectionGetsItsDefaultIsCheckedAndLeavesOtherHashesAlone() throws IOException {
        Recipe.Resolved plain = RecipeFile.read(file(GOOD), List.of());
        assertFalse(RecipeFile.write(plain.config()).contains("qat"), "a recipe without qat writes no qat key");
        Recipe.Resolved r = RecipeFile.read(file(GOOD + "qat: {}\n"), List.of());
        assertEquals(new RecipeConfig.Qat(false), r.config().qat());
        assertNotEquals(RecipeFile.hash(plain.config()), RecipeFile.hash(r.config()));
        Path again = tmp.resolve("again.yaml");
        Files.writeString(again, RecipeFile.write(r.config()));
        assertEquals(r.config(), RecipeFile.read(again, List.of()).config());

        List<String> p = problems(GOOD.replace("  epochs: 2", "  epochs: 2\n  precision: fp16")
                + "lora:\n  rank: 4\nqat:\n  per_tensor: true\n  bits: 4\n");
        assertEquals(3, p.size(), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("qat.bits: unknown key")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("qat: int8 training wraps the projections LoRA adapts")),
                p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("qat: int8 rounding is emulated in fp32")), p.toString());
    }

    @Test
    void teacherOutputsMustBeADirectoryAndLeaveOtherHashesAlone() throws IOException {
        Recipe.Resolved plain = RecipeFile.read(file(GOOD), List.of());
        assertFalse(RecipeFile.write(plain.config()).contains("outputs"), "a recipe without shards writes no key");
        List<String> p = problems(GOOD.replace("  model: runs/teachers/minilm/MRPC/best",
                "  model: runs/teachers/minilm/MRPC/best\n  outputs: runs/no-such-shards"));
        assertTrue(p.stream().anyMatch(x -> x.contains("teacher.outputs: 'runs/no-such-shards' is not a directory")
                && x.contains("./distill spark teacher-outputs")), p.toString());
        Path shards = Files.createDirectories(tmp.resolve("shards"));
        Recipe.Resolved r = RecipeFile.read(file(GOOD.replace("  model: runs/teachers/minilm/MRPC/best",
                "  model: runs/teachers/minilm/MRPC/best\n  outputs: " + shards)), List.of());
        assertEquals(shards.toString(), r.config().teacher().outputs());
        assertNotEquals(RecipeFile.hash(plain.config()), RecipeFile.hash(r.config()));
    }

    @Test
    void unknownYamlKeyIsRejectedWithLineNumber() throws IOException {
        List<String> p = problems(GOOD.replace("  epochs: 2", "  epochs: 2\n  lerning_rate: 0.1"));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).matches(".*r\\.yaml:12: train\\.lerning_rate: unknown key 'lerning_rate'.*"), p.get(0));
    }

    @Test
    void wrongTypeNamesLineKeyAndExpectedType() throws IOException {
        List<String> p = problems(GOOD.replace("epochs: 2", "epochs: two"));
        assertTrue(p.get(0).matches(".*r\\.yaml:11: train\\.epochs: expected a whole number.*"), p.get(0));
        p = problems(GOOD.replace("epochs: 2", "epochs: 2.5"));
        assertTrue(p.get(0).contains("r.yaml:11: train.epochs: expected a whole number"), p.get(0));
    }

    @Test
    void impossibleValuesAreAllReportedAtOnce() throws IOException {
        List<String> p = problems(GOOD.replace("strategy: last", "strategy: middle\n  temperature: 0\n  gamma: 1")
                .replace("[1, 2, 3]", "[0, 2]").replace("epochs: 2", "epochs: 0").replace("task: MRPC", "task: MRCP"));
        assertEquals(6, p.size(), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.matches(".*r\\.yaml:3: task: Unknown GLUE task 'MRCP'.*")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:7: student.layers[0]: layers are numbered from 1")),
                p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:9: distill.strategy: skip or last, got 'middle'")),
                p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:10: distill.temperature: must be in (0.0")),
                p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:11: distill.gamma: not a setting of method pkd")),
                p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:13: train.epochs: must be in [1, 1000], got 0")),
                p.toString());
    }

    @Test
    void typeErrorsUnknownKeysAndImpossibleLayersAreAllReportedTogether() throws IOException {
        List<String> p = problems(GOOD.replace("runs/teachers/minilm/MRPC/best", "builtin:all-minilm-l6-v2")
                .replace("[1, 2, 3]", "[1, 2, 7]").replace("strategy: last", "strategy: middle")
                .replace("epochs: 2", "epochs: three\n  lr: fast\n  colour: blue"));
        assertEquals(5, p.size(), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:11: train.epochs: expected a whole number")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:12: train.lr: expected a number")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:13: train.colour: unknown key 'colour'")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:9: distill.strategy: skip or last, got 'middle'")),
                p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("r.yaml:7: student.layers[2]: layer 7 does not exist: "
                + "builtin:all-minilm-l6-v2 has 6 layers")), p.toString());
        assertTrue(p.stream().noneMatch(s -> s.contains("CoercionConfig")), p.toString());
    }

    @Test
    void setOverridesApplyAndAreNamedInErrors() throws IOException {
        Recipe.Resolved r = RecipeFile.read(file(GOOD), List.of("train.epochs=5", "distill.beta=500",
                "data.train_limit=100"));
        assertEquals(5, r.config().train().epochs());
        assertEquals(500, ((Number) r.config().distill().get("beta")).intValue());
        assertEquals(100, r.config().data().trainLimit());
        List<String> p = problems(GOOD, "train.epochs=-1");
        assertEquals(List.of("--set train.epochs=-1: train.epochs: must be in [1, 1000], got -1"), p);
    }

    @Test
    void deviceAndPrecisionAreCheckedAndTheDeviceIsNotPartOfTheRunIdentity() throws IOException {
        Recipe.Resolved auto = RecipeFile.read(file(GOOD), List.of());
        assertEquals("auto", auto.config().device());
        assertEquals("fp32", auto.config().train().precision());
        Recipe.Resolved cpu = RecipeFile.read(file(GOOD), List.of("device=CPU", "train.precision=fp16"));
        assertEquals("cpu", cpu.config().device());
        assertEquals("fp16", cpu.config().train().precision());
        // A run checkpointed on a GPU may resume on the CPU; fp16 and fp32 are different runs.
        assertEquals(RecipeFile.hash(auto.config()), RecipeFile.hash(RecipeFile.read(file(GOOD),
                List.of("device=cpu")).config()));
        assertNotEquals(RecipeFile.hash(auto.config()), RecipeFile.hash(cpu.config()));
        List<String> p = problems(GOOD.replace("task: MRPC", "task: MRPC\ndevice: tpu"), "train.precision=bf16");
        assertEquals(2, p.size(), p.toString());
        assertTrue(p.get(0).contains("device") && p.get(0).contains("cpu, gpu, auto"), p.toString());
        assertTrue(p.get(1).contains("train.precision") && p.get(1).contains("no bfloat16"), p.toString());
    }

    @Test
    void everyShippedConfigIsValid() throws IOException {
        Path configs = Path.of(System.getProperty("project.root", "..")).resolve("configs");
        List<Path> files;
        try (Stream<Path> s = Files.walk(configs)) {
            files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 1, "no recipes in " + configs);
        for (Path f : files) {
            RecipeFile.read(f, List.of());
        }
    }

    static final String TINYBERT = """
            name: tb
            method: tinybert
            task: CoLA
            teacher:
              model: runs/teachers/bge-small/CoLA/best
            student:
              shape: {layers: 4, hidden: 312, heads: 12, intermediate: 1200}
            stages:
              prediction: {epochs: 4}
            """;

    @Test
    void tinyBertPerTaskDefaultsApplyAndShowInTheResolvedRecipe() throws IOException {
        Recipe.Resolved cola = RecipeFile.read(file(TINYBERT), List.of());
        // The reference's per-task table, which its own script never applies: CoLA 50 intermediate epochs, 64 tokens.
        RecipeConfig.StageConfig intermediate = cola.config().stages().get("intermediate");
        assertEquals(new RecipeConfig.StageConfig(50, 5e-5, 32, "train", "constant", "last", 0), intermediate);
        assertEquals(new RecipeConfig.StageConfig(4, 3e-5, 32, "train", "linear", "best", 0),
                cola.config().stages().get("prediction"));
        assertEquals(64, cola.config().data().maxLength());
        assertEquals(List.of("intermediate", "prediction"), List.copyOf(cola.config().stages().keySet()));
        String written = RecipeFile.write(cola.config());
        assertTrue(written.contains("stages:\n  intermediate:\n    epochs: 50\n"), written);
        assertEquals(null, cola.config().train().epochs(), "epochs are per stage");

        Recipe.Resolved rte = RecipeFile.read(file(TINYBERT.replace("CoLA", "RTE")),
                List.of("stages.intermediate.data=runs/aug/RTE.tsv", "data.max_length=96"));
        assertEquals(20, rte.config().stages().get("intermediate").epochs());
        assertEquals("runs/aug/RTE.tsv", rte.config().stages().get("intermediate").data());
        assertEquals(96, rte.config().data().maxLength(), "a given value wins over the task default");
        assertNotEquals(RecipeFile.hash(cola.config()), RecipeFile.hash(rte.config()));
        assertEquals("carry", cola.config().distill().get("projections"));
        List<String> p = problems(TINYBERT, "distill.projections=fresh");
        assertTrue(p.stream().anyMatch(x -> x.contains("distill.projections: carry or random, got 'fresh'")), p.toString());
    }

    @Test
    void stageProblemsAreNamedByStageAndKey() throws IOException {
        List<String> p = problems(TINYBERT.replace("prediction: {epochs: 4}",
                "prediction: {epochs: 0, keep: first}\n  general: {epochs: 1}\ntrain:\n  lr: 1.0e-4"));
        assertEquals(4, p.size(), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.matches(".*r\\.yaml:10: stages\\.general: not a stage of method tinybert; "
                + "its stages are \\[intermediate, prediction\\]")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.matches(".*r\\.yaml:9: stages\\.prediction\\.epochs: must be in \\[1, 1000\\], "
                + "got 0")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("stages.prediction.keep: last (the model at the stage's end) or "
                + "best")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("train.lr: method tinybert trains in stages [intermediate, "
                + "prediction], each with its own lr: set stages.intermediate.lr instead")), p.toString());
        // A one-stage method has no stages section.
        List<String> pkd = problems(GOOD + "stages:\n  train: {epochs: 1}\n");
        assertTrue(pkd.get(0).contains("stages: method pkd trains in one stage, which train: configures"), pkd.toString());
        // ... and takes an augmented set in data.train_file, which a staged method gives per stage instead.
        assertEquals("runs/augmented/MRPC.tsv", RecipeFile.read(file(GOOD + "data: {train_file: runs/augmented/MRPC.tsv}\n"),
                List.of()).config().data().trainFile());
        List<String> staged = problems(TINYBERT, "data.train_file=runs/augmented/RTE.tsv");
        assertTrue(staged.stream().anyMatch(x -> x.contains("data.train_file: method tinybert trains in stages "
                + "[intermediate, prediction]: give each its data in stages.NAME.data")), staged.toString());
    }

    @Test
    void generalDistillationTakesACorpusAndNoTask() throws IOException {
        String general = """
                name: g
                method: tinybert-general
                data: {corpus: runs/glue-corpus.txt}
                teacher: {model: builtin:bert-base-uncased}
                student:
                  shape: {layers: 4, hidden: 312, heads: 12, intermediate: 1200}
                """;
        Recipe.Resolved r = RecipeFile.read(file(general), List.of());
        assertEquals(null, r.task());
        assertEquals(new RecipeConfig.StageConfig(3, 1e-4, 32, "corpus", "linear", "last", 1000),
                r.config().stages().get("general"));
        List<String> p = problems(general.replace("data: {corpus: runs/glue-corpus.txt}", "task: RTE"));
        assertTrue(p.stream().anyMatch(x -> x.contains("task: method tinybert-general trains on data.corpus")), p.toString());
        assertTrue(p.stream().anyMatch(x -> x.contains("data.corpus: required by method tinybert-general")), p.toString());
    }

    @Test
    void oneStageRecipesKeepTheirHash() throws IOException {
        // Recipes written before stages existed must hash as they did, or their checkpoints would not resume.
        Recipe.Resolved r = RecipeFile.read(file(GOOD), List.of());
        assertTrue(!RecipeFile.write(r.config()).contains("stages"), RecipeFile.write(r.config()));
        assertTrue(!RecipeFile.write(r.config()).contains("corpus"), RecipeFile.write(r.config()));
        assertTrue(!RecipeFile.write(r.config()).contains("train_file"), RecipeFile.write(r.config()));
    }
}
