package org.distill4j.glue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.distill4j.loss.HiddenMseLoss;
import org.distill4j.loss.SoftTargetLoss;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.Stage;
import org.distill4j.train.Trainer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;

/**
 * The distillation the trainer tests share: the real all-MiniLM-L6-v2 with a (random) SST-2 head
 * as teacher, a random 2-layer, 128-wide student, soft targets plus hidden-state MSE through a
 * learned projection (student layers 1, 2 from teacher layers 3, 6), on the first 480 SST-2
 * training sentences.
 */
final class SmallDistillation implements AutoCloseable {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    final NDManager root = NDManager.newBaseManager();
    final BertModel teacher;
    final BertModel student;
    final BertTokenizer tokenizer;
    final HiddenMseLoss hidden;
    final List<WeightedTerm> terms;
    private final Dataset train;
    private final Dataset devSlice;

    /**
     * @param maxLength tokens per sentence
     * @param devExamples SST-2 dev sentences evaluated
     */
    SmallDistillation(int maxLength, int devExamples) {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        train = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.train(), false);
        Dataset dev = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.split("dev"), false);
        devSlice = new Dataset(dev.task(), dev.split(), dev.file(), dev.examples().subList(0, devExamples), 0);
        Engine.getInstance().setRandomSeed(7);
        teacher = ckpt.toModel(root, new BertModel.Heads(false, false, 2));
        student = BertModel.create(BertConfig.of(ckpt.config().vocabSize(), 128, 2, 4, 512),
                new BertModel.Heads(false, false, 2), root);
        tokenizer = ckpt.tokenizer(maxLength);
        hidden = new HiddenMseLoss("hidden_mse", LayerMapping.uniform(2, 6), 128, 384, root);
        terms = List.of(WeightedTerm.of(new SoftTargetLoss(2f), 1f), WeightedTerm.of(hidden, 1f));
    }

    Trainer trainer(TrainerOptions options) {
        return new Trainer(options, student, teacher, tokenizer, terms, false, GlueTraining.examples(train, 480),
                GlueTraining.evaluator(List.of(devSlice), tokenizer), (m, e) -> {}, "train");
    }

    /** Options of the shared tests: seed 9, no teacher cache, log every 5 updates, no step checkpoints. */
    static TrainerOptions.Builder options(Path out, String identity) {
        return TrainerOptions.builder(out, identity).learningRate(5e-4f).checkpointEvery(0).logEvery(5).seed(9)
                .cacheTeacher(false);
    }

    /**
     * A fresh 1-layer, 64-wide student without a teacher, trained with {@code terms} for one epoch
     * of 20 updates of 8 SST-2 sentences (no step checkpoints, evaluated at the end on 16 dev
     * sentences, logged every 5 updates); {@code action} runs the trainer and says what to return.
     */
    static <T> T tinyStudentRun(Path out, String identity, List<WeightedTerm> terms, Function<Trainer, T> action) {
        return tinyStudentRun(out, identity, terms, o -> o, action);
    }

    /** As above, with options changed by {@code options}. */
    static <T> T tinyStudentRun(Path out, String identity, List<WeightedTerm> terms,
            UnaryOperator<TrainerOptions.Builder> options, Function<Trainer, T> action) {
        return tinyStudentRun(out, identity, student -> List.of(Stage.of("train", terms).build()), options,
                (student, trainer) -> action.apply(trainer));
    }

    /**
     * The same student and data, trained by the stages {@code plan} makes for it (it may change the
     * student first: attach or replace modules); {@code action} gets the student and the trainer.
     */
    static <T> T tinyStudentRun(Path out, String identity, Function<BertModel, List<Stage>> plan,
            UnaryOperator<TrainerOptions.Builder> options, BiFunction<BertModel, Trainer, T> action) {
        Checkpoint ckpt = Checkpoint.load("builtin:all-minilm-l6-v2");
        Dataset train = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.train(), false);
        Dataset dev = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.split("dev"), false);
        Dataset devSlice = new Dataset(dev.task(), dev.split(), dev.file(), dev.examples().subList(0, 16), 0);
        Engine.getInstance().setRandomSeed(5);
        try (NDManager root = NDManager.newBaseManager();
                BertModel student = BertModel.create(BertConfig.of(ckpt.config().vocabSize(), 64, 1, 4, 128),
                        new BertModel.Heads(false, false, 2), root);
                BertTokenizer tok = ckpt.tokenizer(32)) {
            TrainerOptions o = options.apply(options(out, identity).epochs(1).batchSize(8).seed(3)).build();
            List<Stage> stages = plan.apply(student);
            return action.apply(student, new Trainer(o, student, null, tok, stages, false,
                    GlueTraining.examples(train, 160), GlueTraining.evaluator(List.of(devSlice), tok), (m, e) -> {}));
        }
    }

    /** Parameter values by name, copied to the heap. */
    static Map<String, float[]> values(Map<String, Parameter> params) {
        Map<String, float[]> m = new LinkedHashMap<>();
        params.forEach((k, p) -> m.put(k, p.getArray().toFloatArray()));
        return m;
    }

    /** The lines of a run's {@code metrics.jsonl} that report {@code key}. */
    static List<JsonNode> metricLines(Path run, String key) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = json.readTree(l);
            if (n.has(key)) {
                lines.add(n);
            }
        }
        return lines;
    }

    @Override
    public void close() {
        tokenizer.close();
        student.close();
        teacher.close();
        root.close();
    }
}
