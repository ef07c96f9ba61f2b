package org.distill4j.recipe;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.Json;
import org.distill4j.glue.GlueTraining;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.DeviceChoice;
import org.distill4j.train.HeldOutLoss;
import org.distill4j.train.Provenance;
import org.distill4j.train.Stage;
import org.distill4j.train.TextCorpus;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;

/**
 * A recipe without a task: distillation on an unlabelled corpus (TinyBERT's general distillation).
 * The student has no task head; evaluations report the loss on held-out lines of the corpus; the
 * run writes the student as a model directory ({@code best/}) that a task recipe names in
 * {@code student.init}, with the same run files as a task run.
 */
final class GeneralRun {

    /** Lines held out for evaluation: every this-many-th line of the corpus, */
    static final int HOLD_OUT_EVERY = 100;
    /** up to this many. */
    static final int HOLD_OUT_MAX = 2000;

    private GeneralRun() {}

    static RecipeRunner.Outcome run(Recipe.Resolved r, boolean resume) {
        RecipeConfig cfg = r.config();
        Path out = Path.of(cfg.output().dir());
        RecipeRunner.writeText(out.resolve("recipe.yaml"), RecipeFile.write(cfg));
        Path corpusFile = Path.of(cfg.data().corpus());
        Checkpoint teacherCkpt = Checkpoint.load(cfg.teacher().model());
        if (teacherCkpt.weights().heads().taskOutputs() > 0) {
            System.err.printf("note: teacher %s has a task head; general distillation reads only its encoder, which "
                    + "fine-tuning has moved away from the pre-trained one%n", cfg.teacher().model());
        }
        Checkpoint init = cfg.student().init() != null ? Checkpoint.load(cfg.student().init()) : teacherCkpt;
        Checkpoint studentCkpt = StudentInit.of(cfg.student(), init);
        if (studentCkpt != null) {
            StudentInit.checkVocabulary(studentCkpt, teacherCkpt);
        }
        Engine.getInstance().setRandomSeed((int) (long) cfg.seed());
        String hash = RecipeFile.hash(cfg);
        Provenance provenance = Provenance.of(hash, List.of(corpusFile), cfg.teacher().model(), teacherCkpt.weights(),
                studentCkpt == null ? null : cfg.student().init() != null ? cfg.student().init() : cfg.teacher().model(),
                studentCkpt == null ? null : init.weights(), cfg.seed());
        RecipeRunner.writeJson(out.resolve("provenance.json"), provenance);

        try (TextCorpus corpus = TextCorpus.open(corpusFile, cfg.data().trainLimit());
                NDManager root = NDManager.newBaseManager(DeviceChoice.parse(cfg.device()).resolve());
                BertModel teacher = teacherCkpt.toModel(root, BertModel.Heads.NONE);
                BertModel student = studentCkpt != null ? studentCkpt.toModel(root, BertModel.Heads.NONE)
                        : BertModel.create(StudentInit.shape(teacherCkpt.config(), cfg.student().shape()),
                                BertModel.Heads.NONE, root);
                BertTokenizer tok = teacherCkpt.tokenizer(cfg.data().maxLength())) {
            TextCorpus[] parts = corpus.holdOut(HOLD_OUT_EVERY, HOLD_OUT_MAX);
            Recipe.Plan plan = r.recipe().plan(new Recipe.Context(student, teacher, tok, null, cfg.distill(), root,
                    StudentInit.placement(cfg.student(), init, teacherCkpt), StudentInit.projections(cfg.student())));
            List<Stage> stages = RecipeRunner.configured(plan.stages(), cfg, name -> parts[0]);
            System.err.printf("%s: %s on %s (%,d lines, %,d held out), student %d layers × %d (%,d parameters), "
                    + "teacher %s %d layers × %d; loss %s%n", cfg.name(), r.recipe().method(), corpusFile,
                    parts[0].size(), parts[1].size(), student.config().numHiddenLayers(),
                    student.config().hiddenSize(), student.parameterCount(), cfg.teacher().model(),
                    teacher.config().numHiddenLayers(), teacher.config().hiddenSize(), Recipe.describe(plan));
            plan.notes().forEach(n -> System.err.println("  " + n));
            Path best = out.resolve("best");
            Checkpoint source = studentCkpt != null ? studentCkpt : StudentInit.tokenizerOnly(teacherCkpt, student);
            Trainer trainer = new Trainer(RecipeRunner.options(cfg, out, hash), student, teacher, tok, stages, false,
                    parts[0], new HeldOutLoss(teacher, tok, parts[1], stages.get(stages.size() - 1).terms(),
                            TrainerOptions.EVAL_BATCH_SIZE),
                    (m, e) -> {
                        ObjectNode info = Json.MAPPER.createObjectNode();
                        info.put("recipe", cfg.name());
                        info.put("method", cfg.method());
                        info.put("corpus", corpusFile.toString());
                        info.put("max_length", cfg.data().maxLength());
                        info.put("step", e.step());
                        ObjectNode m2 = info.putObject("held_out");
                        e.score().metrics().forEach(m2::put);
                        info.putPOJO("provenance", provenance);
                        // W_e and W_h go beside the student, for task distillation to start from.
                        GlueTraining.writeModel(best, cfg.name(), m, source, info, StudentInit.termParameters(stages));
                    });
            Trainer.Result result = trainer.run(resume);
            System.err.printf("%s: %s after %d steps, %.0f s%n", cfg.name(), result.best().score().summary(),
                    result.steps(), result.seconds());
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("recipe", cfg.name());
            json.put("method", cfg.method());
            json.put("corpus", corpusFile.toString());
            json.put("lines", parts[0].size());
            json.put("held_out_lines", parts[1].size());
            json.put("held_out", result.best().score().metrics());
            json.put("steps", result.steps());
            json.put("skipped_steps", result.skippedSteps());
            json.put("train_seconds", result.seconds());
            json.put("train_examples_per_second", result.examplesPerSecond());
            json.put("student_parameters", student.parameterCount());
            RecipeRunner.writeJson(out.resolve("report.json"), json);
            String md = "# " + cfg.name() + "\n\n" + cfg.method() + " on " + corpusFile + " (" + parts[0].size()
                    + " lines), " + result.steps() + " updates in " + String.format("%.0f s", result.seconds())
                    + ". Student " + student.config().numHiddenLayers() + " layers × " + student.config().hiddenSize()
                    + " (" + String.format("%.1fM", student.parameterCount() / 1e6) + " parameters): "
                    + result.best().score().summary() + " on " + parts[1].size() + " held-out lines.\n";
            RecipeRunner.writeText(out.resolve("report.md"), md);
            System.out.print(md);
            return new RecipeRunner.Outcome(out, result, List.of());
        }
    }
}
