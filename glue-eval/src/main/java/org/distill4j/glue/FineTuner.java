package org.distill4j.glue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.Sha256;
import org.distill4j.loss.HardLabelLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraAdapters;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.ParameterSelection;
import org.distill4j.train.Provenance;
import org.distill4j.train.Stage;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;

/**
 * Fine-tunes an encoder and a task head on a GLUE task: cross-entropy (MSE for STS-B), AdamW
 * with linear warm-up and decay, gradient clipping, length-bucketed batches with dynamic padding,
 * evaluation on dev after every epoch, the best epoch kept as a model directory. It is the
 * {@link Trainer} with one {@link HardLabelLoss} term and no teacher, so checkpoints, exact resume
 * and metrics work as in every distillation recipe. With LoRA the backbone is frozen and only the
 * adapters and the head train; {@code best/} holds the merged model and {@code adapter/} the
 * adapters alone, as PEFT writes them.
 */
public final class FineTuner {

    /** The outcome of a run. */
    public record Result(Path bestModel, int bestEpoch, TaskScore bestScore, List<TaskScore> epochScores,
            double seconds) {}

    /** Thrown by a run stopped with {@link #abortAfterStep}, as a crash would stop it. */
    public static final class Aborted extends RuntimeException {
        Aborted(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    private final FineTuneConfig cfg;
    private int abortAfterStep;

    public FineTuner(FineTuneConfig cfg) {
        this.cfg = cfg;
    }

    /** Makes the run stop abruptly after this step, without writing anything (tests of resume). */
    FineTuner abortAfterStep(int step) {
        this.abortAfterStep = step;
        return this;
    }

    public Result run(boolean resume) {
        GlueTask task = cfg.task();
        Dataset train = GlueReader.read(cfg.glueDir(), task, task.train(), cfg.skipBadRows());
        if (train.skippedRows() > 0) {
            System.err.printf("skipped %d malformed rows of %s%n", train.skippedRows(), train.file());
        }
        List<Dataset> devs = task.select("dev").stream()
                .map(s -> GlueReader.read(cfg.glueDir(), task, s, cfg.skipBadRows())).toList();
        Checkpoint source = Checkpoint.load(cfg.model());
        Engine.getInstance().setRandomSeed((int) cfg.seed()); // the head's initialisation
        TrainerOptions options = TrainerOptions.builder(cfg.out(), cfg.identity()).epochs(cfg.epochs())
                .batchSize(cfg.batchSize()).learningRate(cfg.learningRate()).checkpointEvery(cfg.checkpointEvery())
                .seed(cfg.seed()).cacheTeacher(false).precision(cfg.precision()).build();
        Path best = cfg.out().resolve("best");
        try (NDManager root = NDManager.newBaseManager(cfg.device().resolve());
                BertModel model = source.toModel(root, new BertModel.Heads(false, false, task.outputs()));
                BertTokenizer tok = source.tokenizer(cfg.maxLength())) {
            if (!resume || !Trainer.hasCheckpoint(cfg.out())) {
                writeRunFile(Provenance.of(Sha256.of(cfg.identity()), List.of(train.file()), null, null,
                        cfg.model(), source.weights(), cfg.seed()));
            }
            LoraAdapters adapters = cfg.lora() == null ? null : LoraAdapters.attach(model, cfg.lora());
            Stage.Builder stage = Stage.of("finetune", List.of(WeightedTerm.of(new HardLabelLoss(), 1f)));
            if (adapters != null) {
                stage.trainable(ParameterSelection.ALL.freezing(adapters.frozen(model)));
                System.err.println(adapters.describe(model));
            }
            Trainer trainer = new Trainer(options, model, null, tok, List.of(stage.build()), task.isRegression(),
                    GlueTraining.examples(train, cfg.trainLimit()), GlueTraining.evaluator(devs, tok), (m, e) -> {
                        ObjectNode info = GlueTraining.info(task, e, cfg.maxLength());
                        info.put("base_model", cfg.model());
                        info.putPOJO("fine_tune", cfg.identity());
                        GlueTraining.writeModel(best, "fine-tuned " + source.name(), m, source, info);
                        if (adapters != null) {
                            GlueTraining.writeAdapter(cfg.out().resolve("adapter"), m, adapters, cfg.model(), info);
                        }
                    }).abortAfterStep(abortAfterStep);
            Trainer.Result r;
            try {
                r = trainer.run(resume);
            } catch (Trainer.Aborted e) {
                throw new Aborted(e);
            }
            List<TaskScore> scores = r.evaluations().stream().map(e -> GlueTraining.taskScore(e.score())).toList();
            return new Result(best, (int) Math.round(r.best().epoch()), GlueTraining.taskScore(r.best().score()),
                    scores, r.seconds());
        }
    }

    /**
     * run.txt for people; provenance.json as every recipe run writes it, so that the commit that
     * trained a fine-tuned model can be told (scripts/nonfinite-count.sh reads it).
     */
    private void writeRunFile(Provenance provenance) {
        try {
            Files.createDirectories(cfg.out());
            Files.writeString(cfg.out().resolve("run.txt"), cfg + "\n", StandardCharsets.UTF_8);
            AtomicFile.write(cfg.out().resolve("provenance.json"), tmp -> Json.PRETTY.writeValue(tmp.toFile(),
                    provenance));
        } catch (IOException e) {
            throw new DistillException("Cannot write to " + cfg.out() + ": " + e.getMessage(), e);
        }
    }
}
