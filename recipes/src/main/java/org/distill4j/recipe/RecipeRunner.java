package org.distill4j.recipe;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.Sha256;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.FineTuneConfig;
import org.distill4j.glue.FineTuner;
import org.distill4j.glue.GlueEvaluator;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.glue.TaskScore;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraAdapters;
import org.distill4j.model.QuantizationAware;
import org.distill4j.prune.Importance;
import org.distill4j.prune.MagnitudePruning;
import org.distill4j.prune.Rewiring;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.AtomicDirectory;
import org.distill4j.train.DeviceChoice;
import org.distill4j.train.Precision;
import org.distill4j.train.Provenance;
import org.distill4j.train.Stage;
import org.distill4j.train.StressResult;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainingData;
import org.distill4j.train.UpdateReplay;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.StateDict;

/**
 * Runs a resolved recipe end to end: makes the teacher if asked, builds the student, trains it
 * with the recipe's loss terms, keeps the best student as a model directory, and ends with a
 * table of teacher against student (dev score, parameters, inference speed measured in this run).
 * Everything lands in the run directory: {@code recipe.yaml}, {@code provenance.json},
 * {@code metrics.jsonl}, {@code checkpoint/}, {@code best/}, {@code report.md} and {@code report.json}.
 */
public final class RecipeRunner {


    /** One model's line of the report. */
    public record Row(String role, String model, TaskScore dev, long parameters, double examplesPerSecond) {}

    /** What a run produced. */
    public record Outcome(Path dir, Trainer.Result training, List<Row> rows) {

        /** The student's inference speed over the teacher's (0 when there is no teacher or no timing). */
        public double speedUp() {
            return rows.size() < 2 || rows.get(0).examplesPerSecond() == 0 ? 0
                    : rows.get(1).examplesPerSecond() / rows.get(0).examplesPerSecond();
        }
    }

    private RecipeRunner() {}

    /**
     * @param glueDirOption --glue-dir from the command line (null: $GLUE_DIR, then ../shared/data/glue)
     */
    public static Outcome run(Recipe.Resolved r, Path glueDirOption, boolean resume) {
        return run(r, glueDirOption, resume, false);
    }

    /**
     * Runs a recipe into its output directory. A directory that holds another run, or this recipe's
     * finished run, is refused unless {@code resume} (the same recipe) or {@code overwrite}. Resuming a
     * run that finished and reported earlier runs nothing: the outcome is read back from its records
     * ({@code report.json} and the last checkpoint), which stay as the run wrote them.
     */
    public static Outcome run(Recipe.Resolved r, Path glueDirOption, boolean resume, boolean overwrite) {
        Path out = Path.of(r.config().output().dir());
        RunDirectory.claim(out, r.config().name(), RecipeFile.hash(r.config()),
                RunDirectory.Mode.of(resume, overwrite, out));
        if (resume && reported(out)) {
            return finishedOutcome(out);
        }
        return execute(r, glueDirOption, resume, null).outcome();
    }

    /** Whether the run in {@code out} finished and wrote its report (a run stopped in between goes on). */
    private static boolean reported(Path out) {
        return Files.isRegularFile(out.resolve("report.json")) && Files.isRegularFile(out.resolve("report.md"))
                && Trainer.finished(out);
    }

    /** A finished run's outcome as its report and last checkpoint keep it. */
    private static Outcome finishedOutcome(Path out) {
        Path file = out.resolve("report.json");
        try {
            JsonNode report = Json.MAPPER.readTree(file.toFile());
            List<Row> rows = new ArrayList<>();
            for (JsonNode row : report.path("rows")) { // a general distillation's report has none
                Map<String, Double> metrics = new LinkedHashMap<>();
                row.path("dev").path("metrics").fields().forEachRemaining(m -> metrics.put(m.getKey(),
                        m.getValue().asDouble()));
                rows.add(new Row(row.path("role").asText(), row.path("model").asText(),
                        new TaskScore(metrics, row.path("dev").path("score").asDouble()),
                        row.path("parameters").asLong(), row.path("examples_per_second").asDouble()));
            }
            if (!report.path("steps").canConvertToInt()) {
                throw new DistillException(file + " has no \"steps\"; it is damaged: rerun with --overwrite");
            }
            return new Outcome(out, Trainer.finishedResult(out, report.path("steps").asInt()), List.copyOf(rows));
        } catch (IOException e) {
            throw new DistillException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The report of this recipe's run when that run finished earlier, else null. A finished run that is
     * resumed again (a queue of recipes started over) is not evaluated or timed a second time: its
     * report, provenance and records stay as the run wrote them, so figures cited from them hold.
     *
     * @throws DistillException when the output directory holds another recipe's run
     */
    public static String finishedReport(Recipe.Resolved r) {
        Path out = Path.of(r.config().output().dir());
        RunDirectory.claim(out, r.config().name(), RecipeFile.hash(r.config()), RunDirectory.Mode.RESUME);
        Path report = out.resolve("report.md");
        if (!reported(out)) {
            return null; // unfinished, or finished but stopped before its report: the run goes on
        }
        try {
            return Files.readString(report);
        } catch (IOException e) {
            throw new DistillException("cannot read " + report + ": " + e.getMessage(), e);
        }
    }

    /**
     * Replays an update the run skipped and kept ({@code runs/NAME/skipped/step-N}; see
     * {@link Trainer#replay}) with the models and data the recipe builds: give the run's own
     * {@code runs/NAME/recipe.yaml}. Writes nothing into the run directory.
     */
    public static UpdateReplay replay(Recipe.Resolved r, Path glueDirOption, Path dump) {
        return (UpdateReplay) execute(r, glueDirOption, false, t -> t.replay(dump)).probed();
    }

    /**
     * Computes the run's next {@code updates} updates {@code repeats} times from its checkpoint, applying
     * none, and counts non-finite gradients ({@link Trainer#stress}): the harness for sporadic NaN in fp32.
     * Give the run's own {@code recipe.yaml}; writes nothing into the run directory.
     */
    public static StressResult stress(Recipe.Resolved r, Path glueDirOption, int updates, int repeats) {
        return (StressResult) execute(r, glueDirOption, false, t -> t.stress(updates, repeats)).probed();
    }

    /** A training run's outcome, or what a probe of the run (a replay, a stress test) returned. */
    private record Executed(Outcome outcome, Object probed) {}

    /** @param probe null to train; else what to do with the trainer instead, writing nothing */
    private static Executed execute(Recipe.Resolved r, Path glueDirOption, boolean resume,
            java.util.function.Function<Trainer, Object> probe) {
        if (r.task() == null) {
            if (probe != null) {
                throw new DistillException("--replay and --stress are for task recipes; " + r.config().name()
                        + " is a general distillation (method tinybert-general)");
            }
            return new Executed(GeneralRun.run(r, resume), null);
        }
        RecipeConfig cfg = r.config();
        GlueTask task = r.task();
        Path out = Path.of(cfg.output().dir());
        Path glueDir = cfg.data().glueDir() != null ? Path.of(cfg.data().glueDir()) : GlueReader.locate(glueDirOption);
        if (probe == null) {
            writeText(out.resolve("recipe.yaml"), RecipeFile.write(cfg));
        }
        Dataset taskTrain = GlueReader.read(glueDir, task, task.train(), cfg.data().skipBadRows());
        Dataset train = trainingData(cfg, task, glueDir, taskTrain);
        List<Dataset> devs = task.select("dev").stream()
                .map(s -> GlueReader.read(glueDir, task, s, cfg.data().skipBadRows())).toList();
        Map<String, Dataset> stageData = stageData(cfg, task, glueDir, taskTrain);

        // The teacher is loaded when the method distils from it, or when it is where the student starts.
        Checkpoint teacherCkpt = null;
        boolean distils = r.recipe().needsTeacher();
        if (cfg.teacher() != null && cfg.teacher().model() != null && (distils || cfg.student().init() == null)) {
            teacherCkpt = Checkpoint.load(ensureTeacher(cfg, task, glueDir));
            int outputs = teacherCkpt.weights().heads().taskOutputs();
            if (distils && outputs != task.outputs()) {
                throw new DistillException("teacher " + cfg.teacher().model() + " has " + (outputs == 0 ? "no task head"
                        : outputs + " task outputs") + " but " + task + " needs " + task.outputs()
                        + ": give a teacher fine-tuned on " + task + " (./distill finetune --task " + task + ")");
            }
        }
        Checkpoint init = cfg.student().init() != null ? Checkpoint.load(cfg.student().init()) : teacherCkpt;
        Checkpoint studentCkpt = StudentInit.of(cfg.student(), init);
        if (r.recipe() instanceof DynaBertRecipe && DynaBertRecipe.rewires(cfg.distill())) {
            studentCkpt = rewired(studentCkpt, taskTrain, task, cfg, out);
        }
        Checkpoint vocabSource = init != null ? init : teacherCkpt;
        if (distils && init != null && teacherCkpt != null) {
            StudentInit.checkVocabulary(init, teacherCkpt);
        }

        Engine.getInstance().setRandomSeed((int) (long) cfg.seed()); // student heads and projections
        String hash = RecipeFile.hash(cfg);
        List<Path> dataFiles = new ArrayList<>(List.of(taskTrain.file()));
        Stream.concat(Stream.of(train), stageData.values().stream()).forEach(d -> {
            if (!dataFiles.contains(d.file())) {
                dataFiles.add(d.file());
            }
        });
        devs.forEach(d -> dataFiles.add(d.file()));
        String start = studentCkpt == null ? null
                : cfg.student().init() != null ? cfg.student().init() : cfg.teacher().model();
        Provenance provenance = Provenance.of(hash, dataFiles, distils ? cfg.teacher().model() : null,
                distils ? teacherCkpt.weights() : null, start, studentCkpt == null ? null : init.weights(),
                cfg.seed());
        if (probe == null) {
            writeJson(out.resolve("provenance.json"), provenance);
        }

        try (NDManager root = NDManager.newBaseManager(DeviceChoice.parse(cfg.device()).resolve());
                BertModel teacher = distils ? teacherCkpt.toModel(root) : null;
                BertModel student = studentCkpt != null
                        ? studentCkpt.toModel(root, new BertModel.Heads(false,
                                studentCkpt.weights().heads().maskedLm(), task.outputs()))
                        : BertModel.create(StudentInit.shape(vocabSource.config(), cfg.student().shape()),
                                new BertModel.Heads(false, false, task.outputs()), root);
                BertTokenizer tok = vocabSource.tokenizer(cfg.data().maxLength())) {
            LoraAdapters adapters = cfg.lora() == null ? null : LoraAdapters.attach(student, cfg.lora().toConfig());
            int int8Aware = cfg.qat() == null ? 0 : QuantizationAware.attach(student, cfg.qat().perTensor());
            String adapterBase = adapters == null ? null : adapterBase(cfg, start, studentCkpt, out, probe == null);
            Recipe.Plan plan = r.recipe().plan(new Recipe.Context(student, teacher, tok, task, cfg.distill(), root,
                    distils ? StudentInit.placement(cfg.student(), init, teacherCkpt) : null,
                    distils ? StudentInit.projections(cfg.student()) : null));
            List<Stage> stages = configured(plan.stages(), cfg, name -> GlueTraining.examples(stageData.get(name),
                    cfg.data().trainLimit()));
            if (adapters != null) {
                // The terms' own projections (TinyBERT's W) are not the student's: they train as planned.
                var frozen = adapters.frozen(student);
                stages = stages.stream().map(st -> st.withTrainable(st.trainable().freezing(frozen))).toList();
            }
            System.err.printf("%s: %s on %s, student %d layers × %d (%,d parameters)%s; loss %s%n", cfg.name(),
                    r.recipe().method(), task, student.config().numHiddenLayers(), student.config().hiddenSize(),
                    student.parameterCount(), teacher == null ? ""
                            : ", teacher " + teacher.config().numHiddenLayers() + " layers",
                    Recipe.describe(plan));
            plan.notes().forEach(n -> System.err.println("  " + n));
            if (adapters != null) {
                System.err.println("  " + adapters.describe(student) + "; adapters saved in " + out.resolve("adapter")
                        + " on " + adapterBase);
            }
            if (cfg.qat() != null) {
                System.err.printf("  int8-aware training: %d projections and the word embeddings round as export "
                        + "--int8%s rounds them; dev scores are the int8 model's%n", int8Aware,
                        cfg.qat().perTensor() ? " --per-tensor" : "");
            }
            TrainerOptions options = options(cfg, out, hash);
            if (distils && cfg.teacher().outputs() != null) {
                Path shards = Path.of(cfg.teacher().outputs());
                String teacherHash = provenance.teacherHash();
                List<String> inputs = List.copyOf(provenance.dataFiles().values());
                String tokenizerHash = Sha256.hex(Sha256.digest().digest(vocabSource.tokenizerJson()));
                int length = cfg.data().maxLength();
                options = options.toBuilder().teacherOutputs((logits, cls, layers, n) -> TeacherShards.read(shards,
                        teacherHash, inputs, tokenizerHash, length, logits, cls, layers, n)).build();
                System.err.println("  teacher outputs read from " + shards + " (Parquet shards)");
            }
            Path best = out.resolve("best");
            // A new shape carries no head of another model's width into its directory: only the tokenizer.
            Checkpoint source = studentCkpt != null ? studentCkpt : StudentInit.tokenizerOnly(vocabSource, student);
            Trainer trainer = new Trainer(options, student, teacher, tok, stages, task.isRegression(),
                    GlueTraining.examples(train, cfg.data().trainLimit()), GlueTraining.evaluator(devs, tok,
                            r.recipe().evaluated(cfg.distill(), student.config())),
                    (m, e) -> {
                        ObjectNode info = GlueTraining.info(task, e, cfg.data().maxLength());
                        info.put("recipe", cfg.name());
                        info.put("method", cfg.method());
                        info.put("base_model", cfg.name() + " (" + cfg.method() + ")");
                        info.putPOJO("provenance", provenance);
                        if (cfg.qat() != null) {
                            info.putObject("quantization_aware").put("per_tensor", cfg.qat().perTensor());
                        }
                        GlueTraining.writeModel(best, cfg.name(), m, source, info);
                        if (adapters != null) {
                            GlueTraining.writeAdapter(out.resolve("adapter"), m, adapters, adapterBase, info);
                        }
                    });
            if (cfg.prune() != null) {
                trainer.listen(new MagnitudePruning(cfg.prune().toSchedule(), student, out.resolve("sparsity.json")));
            }
            if (probe != null) {
                return new Executed(null, probe.apply(trainer));
            }
            Trainer.Result result = trainer.run(resume);
            System.err.printf("%s: best %s at step %d (epoch %.2f), %d steps%s, %.0f s%n", cfg.name(),
                    result.best().score().summary(), result.best().step(), result.best().epoch(), result.steps(),
                    result.skippedSteps() > 0 ? " (" + result.skippedSteps() + " skipped)" : "", result.seconds());

            // The yardstick teacher (when not distilled from) and the best student stay open together:
            // their speeds are timed in alternating rounds, so the speed-up compares like with like.
            Checkpoint bestCkpt = Checkpoint.load(best.toString());
            boolean yardstick = teacher == null && teacherCkpt != null
                    && teacherCkpt.weights().heads().taskOutputs() == task.outputs();
            List<Row> rows = new ArrayList<>();
            try (BertModel t0 = yardstick ? teacherCkpt.toModel(root) : null;
                    BertModel bestModel = bestCkpt.toModel(root, new BertModel.Heads(false, false, task.outputs()))) {
                BertModel shownTeacher = teacher != null ? teacher : t0;
                List<BertModel> models = shownTeacher == null ? List.of(bestModel) : List.of(shownTeacher, bestModel);
                // An int8-aware student is scored as its int8 export runs, and not timed: emulated
                // rounding in fp32 is slower than either the fp32 or the int8 model.
                if (cfg.qat() != null) {
                    QuantizationAware.attach(bestModel, cfg.qat().perTensor());
                }
                int timed = cfg.qat() != null ? 0 : cfg.output().speedExamples();
                double[] speed = timed > 0 ? GlueEvaluator.examplesPerSecond(models,
                        java.util.Collections.nCopies(models.size(), tok), devs.get(0), timed)
                        : new double[models.size()];
                for (int i = 0; i < models.size(); i++) {
                    BertModel m = models.get(i);
                    boolean isStudent = m == bestModel;
                    TaskScore dev = GlueEvaluator.score(devs.get(0), GlueEvaluator.predict(m, tok, devs.get(0), TrainerOptions.EVAL_BATCH_SIZE));
                    rows.add(new Row(isStudent ? "student" : "teacher",
                            isStudent ? best.toString() : cfg.teacher().model(), dev, m.parameterCount(), speed[i]));
                }
            }
            Outcome outcome = new Outcome(out, result, rows);
            writeReport(out, cfg, task, outcome);
            return new Executed(outcome, null);
        }
    }

    /**
     * The model a run's adapters go on, as their {@code base_model_name_or_path}: {@code student.init}
     * when the student is all of it; otherwise the student's starting weights (chosen layers of a
     * model) are written to {@code base/} in the run directory, named relative to the adapter.
     */
    private static String adapterBase(RecipeConfig cfg, String start, Checkpoint studentCkpt, Path out,
            boolean write) {
        if (cfg.student().layers() == null) {
            return start;
        }
        Path base = out.resolve("base");
        if (write && !Files.isRegularFile(base.resolve(HfModelDirectory.WEIGHTS))) {
            StateDict encoder = new StateDict(studentCkpt.name());
            studentCkpt.weights().tensors().forEach((n, t) -> {
                if (!n.startsWith("classifier.")) {
                    encoder.put(n, t);
                }
            });
            AtomicDirectory.write(base, tmp -> HfModelDirectory.write(new Checkpoint(studentCkpt.name(),
                    studentCkpt.config(), encoder, studentCkpt.tokenizerJson()), tmp));
        }
        return "../base";
    }

    /**
     * DynaBERT's start: the student with each layer's heads and neurons in order of importance,
     * measured with its task head on the training data. The scores are kept in the run directory
     * ({@code importance.json}) and read back on resume, so the student is rewired the same way.
     */
    private static Checkpoint rewired(Checkpoint student, Dataset train, GlueTask task, RecipeConfig cfg, Path out) {
        if (student == null || student.weights().heads().taskOutputs() != task.outputs()) {
            throw new DistillException("rewiring measures importance with the student's task head, but the student "
                    + "starts without one for " + task + ": start it from the fine-tuned teacher (student.layers or "
                    + "student.init), or set distill.rewire: false");
        }
        Path file = out.resolve("importance.json");
        Importance imp;
        if (Files.isRegularFile(file)) {
            imp = Importance.read(file);
        } else {
            imp = Importance.measure(student, cfg.data().maxLength(), GlueTraining.examples(train,
                    cfg.data().trainLimit()), task.isRegression(), TrainerOptions.BATCH_SIZE,
                    DeviceChoice.parse(cfg.device()).resolve());
            imp.write(file);
        }
        System.err.printf("student rewired by importance over %d training examples (%s)%n", imp.examples(), file);
        return Rewiring.apply(student, imp);
    }

    /** The trainer's options from the recipe's {@code train:} section (stage settings override them per stage). */
    static TrainerOptions options(RecipeConfig cfg, Path out, String hash) {
        RecipeConfig.Train t = cfg.train();
        TrainerOptions.Builder b = TrainerOptions.builder(out, hash).weightDecay(t.weightDecay().floatValue())
                .warmupFraction(t.warmup()).maxGradNorm(t.maxGradNorm().floatValue())
                .accumulation(t.accumulation()).evalEvery(t.evalEvery()).checkpointEvery(t.checkpointEvery())
                .seed(cfg.seed()).cacheTeacher(t.cacheTeacher()).precision(Precision.parse(t.precision()))
                .teacherCacheDir(teacherCacheDir(out));
        if (t.epochs() != null) {
            b.epochs(t.epochs()).batchSize(t.batchSize()).learningRate(t.lr().floatValue());
        }
        return b.build();
    }

    /**
     * The plan's stages with the recipe's settings for each (epochs, learning rate, batch size,
     * schedule, which model goes on, data); a one-stage method's single stage keeps the trainer's.
     */
    static List<Stage> configured(List<Stage> planned, RecipeConfig cfg,
            java.util.function.Function<String, TrainingData> data) {
        if (cfg.stages() == null) {
            return planned;
        }
        List<Stage> out = new ArrayList<>();
        for (Stage s : planned) {
            RecipeConfig.StageConfig c = cfg.stages().get(s.name());
            if (c == null) {
                throw new IllegalStateException("method " + cfg.method() + " planned stage " + s.name()
                        + " but declares no settings for it");
            }
            out.add(new Stage(s.name(), s.terms(), s.objective(), s.trainable(), data.apply(s.name()), c.epochs(),
                    c.lr().floatValue(), c.batchSize(), c.keep().equals("last") ? Stage.Selection.LAST
                            : Stage.Selection.BEST_ON_DEV,
                    c.schedule().equals("constant") ? Stage.Schedule.CONSTANT : Stage.Schedule.LINEAR, c.evalEvery()));
        }
        return out;
    }

    /**
     * A one-stage method's training data: the task's training set, or {@code data.train_file}, a
     * GLUE-layout TSV of the task such as {@code ./distill augment} writes (originals and their copies).
     */
    private static Dataset trainingData(RecipeConfig cfg, GlueTask task, Path glueDir, Dataset taskTrain) {
        String f = cfg.data().trainFile();
        if (f == null) {
            return taskTrain;
        }
        Path file = Path.of(f).toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new DistillException("data.train_file: " + f + " is not a file; give a GLUE-layout TSV of " + task
                    + " (./distill augment --task " + task + " --out FILE makes one), or leave it out");
        }
        Dataset d = readTaskFile(cfg, task, glueDir, "train", file);
        System.err.printf("training on %s: %,d examples (the training set has %,d)%n", f, d.size(),
                taskTrain.size());
        return d;
    }

    /**
     * Each stage's training data: the task's training set, or a GLUE-layout TSV of the task (an
     * augmented set), read with the training split's layout. One-stage methods train on the training set.
     */
    private static Map<String, Dataset> stageData(RecipeConfig cfg, GlueTask task, Path glueDir, Dataset train) {
        Map<String, Dataset> out = new LinkedHashMap<>();
        if (cfg.stages() == null) {
            return out;
        }
        Map<String, Dataset> byFile = new LinkedHashMap<>();
        cfg.stages().forEach((name, c) -> {
            if (c.data().equals("train")) {
                out.put(name, train);
                return;
            }
            Path file = Path.of(c.data()).toAbsolutePath().normalize();
            if (!Files.isRegularFile(file)) {
                throw new DistillException("stages." + name + ".data: " + c.data() + " is not a file; give train or a "
                        + "GLUE-layout TSV of " + task + " (./distill augment --task " + task + " --out FILE makes one)");
            }
            out.put(name, byFile.computeIfAbsent(file.toString(), f -> readTaskFile(cfg, task, glueDir, name, file)));
        });
        return out;
    }

    /** A GLUE-layout TSV of the task that the recipe names (an augmented set), read as its training split is. */
    private static Dataset readTaskFile(RecipeConfig cfg, GlueTask task, Path glueDir, String split, Path file) {
        return GlueReader.read(glueDir, task, new org.distill4j.glue.Split(split, file.toString(), task.train().layout(),
                null), cfg.data().skipBadRows());
    }

    /**
     * Where cached teacher outputs are kept between runs: {@code teacher-cache/} beside the run
     * directories, so that every student of a table (runs/NAME) shares one teacher pass per
     * teacher, task and kind of output. Files are keyed by content; deleting the directory only
     * costs the next run a teacher pass.
     */
    static Path teacherCacheDir(Path out) {
        Path parent = out.toAbsolutePath().normalize().getParent();
        return (parent != null ? parent : out.toAbsolutePath()).resolve("teacher-cache");
    }

    /** The teacher's directory, fine-tuned first if the recipe says how and it is missing. */
    private static String ensureTeacher(RecipeConfig cfg, GlueTask task, Path glueDir) {
        String model = cfg.teacher().model();
        RecipeConfig.Finetune f = cfg.teacher().finetune();
        boolean exists = model.startsWith("builtin:") || Files.exists(Path.of(model));
        // A fine-tuning run that was cut short has a best/ already: finish it rather than use it.
        boolean unfinished = f != null && !model.startsWith("builtin:")
                && Trainer.hasCheckpoint(Path.of(model).getParent())
                && !Trainer.finished(Path.of(model).getParent());
        if (exists && !unfinished) {
            return model;
        }
        if (f == null) {
            throw new DistillException("teacher.model " + model + " does not exist: fine-tune it first (./distill "
                    + "finetune --task " + task + " --out " + Path.of(model).getParent() + ") or add teacher.finetune "
                    + "to the recipe");
        }
        Path runDir = Path.of(model).getParent();
        System.err.printf("teacher %s %s: fine-tuning %s on %s into %s%n", model, exists ? "may be unfinished"
                : "is missing", f.base(), task, runDir);
        FineTuneConfig ft = new FineTuneConfig(f.base(), task, f.epochs(), f.lr().floatValue(), f.batchSize(),
                cfg.data().maxLength(), cfg.seed(), runDir, glueDir, cfg.data().skipBadRows(), f.trainLimit(),
                TrainerOptions.CHECKPOINT_EVERY, DeviceChoice.parse(cfg.device()), Precision.parse(cfg.train().precision()));
        FineTuner.Result res = new FineTuner(ft).run(Trainer.hasCheckpoint(runDir));
        System.err.printf("teacher ready: dev %s (epoch %d), %.0f s%n", res.bestScore().summary(), res.bestEpoch(),
                res.seconds());
        return model;
    }

    /** The teacher-vs-student table as markdown. */
    static String table(GlueTask task, Outcome o) {
        StringBuilder b = new StringBuilder();
        b.append("| model | ").append(task).append(" dev score | metrics | parameters | examples/s | speed-up |\n");
        b.append("|---|---|---|---|---|---|\n");
        double base = o.rows().get(0).examplesPerSecond();
        for (Row r : o.rows()) {
            b.append(String.format("| %s `%s` | %.2f | %s | %.1fM | %.1f | %s |%n", r.role(), r.model(),
                    100 * r.dev().score(), r.dev().summary(), r.parameters() / 1e6, r.examplesPerSecond(),
                    base > 0 ? String.format("%.2fx", r.examplesPerSecond() / base) : "-"));
        }
        return b.toString();
    }

    private static void writeReport(Path out, RecipeConfig cfg, GlueTask task, Outcome o) {
        String md = "# " + cfg.name() + "\n\n" + cfg.method() + " on " + task + "; best student at step "
                + o.training().best().step() + " of " + o.training().steps() + " (epoch "
                + String.format("%.2f", o.training().best().epoch()) + "), trained in "
                + String.format("%.0f s", o.training().seconds()) + ". Speed: dev examples per second, batch 32, "
                + "dynamic padding, measured one after the other in this run."
                + (cfg.qat() == null ? "" : " The student trained for int8 (qat): its score is through the int8 "
                        + "export's rounding, and emulated rounding is not timed.")
                + "\n\n" + table(task, o);
        writeText(out.resolve("report.md"), md);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("recipe", cfg.name());
        json.put("method", cfg.method());
        json.put("task", task.dirName());
        json.put("rows", o.rows());
        json.put("speed_up", o.speedUp());
        json.put("best_step", o.training().best().step());
        json.put("steps", o.training().steps());
        json.put("skipped_steps", o.training().skippedSteps());
        json.put("train_seconds", o.training().seconds());
        json.put("train_examples_per_second", o.training().examplesPerSecond());
        writeJson(out.resolve("report.json"), json);
        System.out.print(table(task, o));
    }

    static void writeText(Path f, String text) {
        try {
            Files.createDirectories(f.toAbsolutePath().getParent());
            Files.writeString(f, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DistillException("Cannot write " + f + ": " + e.getMessage(), e);
        }
    }

    static void writeJson(Path f, Object value) {
        try {
            Files.createDirectories(f.toAbsolutePath().getParent());
            Json.PRETTY.writeValue(f.toFile(), value);
        } catch (IOException e) {
            throw new DistillException("Cannot write " + f + ": " + e.getMessage(), e);
        }
    }
}
