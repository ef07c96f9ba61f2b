package org.distill4j.recipe;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.model.LoraConfig;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.DeviceChoice;
import org.distill4j.train.Precision;
import org.distill4j.train.Stage;
import org.distill4j.train.SubNetwork;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.StateDict;

/**
 * A distillation method, as configuration: its settings (the {@code distill:} section of a
 * recipe, with defaults) and the loss terms it builds for a student and teacher. The
 * {@link org.distill4j.train.Trainer} runs every method alike, so a recipe class is short enough
 * to read beside its paper.
 */
public interface Recipe {

    /** The name a recipe file gives in {@code method:}. */
    String method();

    /** Its settings with their defaults; a key not listed here is refused. */
    Map<String, Object> defaults();

    /** Whether the method distils from a teacher (plain fine-tuning does not). */
    default boolean needsTeacher() {
        return true;
    }

    /** Whether the method trains on a GLUE task (general distillation trains on a text corpus instead). */
    default boolean needsTask() {
        return true;
    }

    /**
     * The method's stages, in order, with its settings for {@code task} (null for a method without
     * a task); empty for a method of one stage, which {@code train:} configures. A recipe's
     * {@code stages:} section overrides these key by key.
     */
    default Map<String, RecipeConfig.StageConfig> stageDefaults(GlueTask task) {
        return Map.of();
    }

    /** Tokens per example when the recipe gives no {@code data.max_length}. */
    default int maxLength(GlueTask task) {
        return GlueTraining.MAX_LENGTH;
    }

    /**
     * The sub-networks whose dev scores, averaged, choose the model to keep: the whole network for
     * every method but DynaBERT, which keeps the model best over its grid of widths and depths.
     */
    default List<SubNetwork> evaluated(Map<String, Object> settings, BertConfig student) {
        return List.of(SubNetwork.FULL);
    }

    /** Checks of the settings beyond their types (ranges, allowed words). */
    void check(Map<String, Object> settings, RecipeFile.Problems problems);

    /** The stages with their weighted loss terms, and notes for the log (e.g. a term left out and why). */
    Plan plan(Context context);

    /**
     * What a recipe builds its terms from.
     *
     * @param placement for a student narrowed from a model of the teacher's width (student.init with
     *     student.shape), the source dimension each student dimension was taken from; else null
     * @param projections for a student that starts from a general TinyBERT student, the learned
     *     projections saved beside it ({@link StudentInit#projections}); else null
     */
    record Context(BertModel student, BertModel teacher, BertTokenizer tokenizer, GlueTask task,
            Map<String, Object> settings, NDManager owner, int[] placement, StateDict projections) {

        Context(BertModel student, BertModel teacher, BertTokenizer tokenizer, GlueTask task,
                Map<String, Object> settings, NDManager owner) {
            this(student, teacher, tokenizer, task, settings, owner, null, null);
        }

        double number(String key) {
            return ((Number) settings.get(key)).doubleValue();
        }

        String word(String key) {
            return String.valueOf(settings.get(key));
        }
    }

    /** The objective of a run: its stages, in order. */
    record Plan(List<Stage> stages, List<String> notes) {

        /** One stage that trains everything and keeps the best model on dev. */
        static Plan single(List<WeightedTerm> terms, List<String> notes) {
            return new Plan(List.of(Stage.of("train", terms).build()), notes);
        }
    }

    /** A recipe file with every default filled in, its method and its task. */
    record Resolved(RecipeConfig config, Recipe recipe, GlueTask task) {}

    /** The methods, by name. */
    static Map<String, Recipe> all() {
        Map<String, Recipe> m = new LinkedHashMap<>();
        for (Recipe r : List.of(new DistilBertRecipe(), new PkdRecipe(), new TinyBertRecipe(), new TinyBertGeneralRecipe(),
                new DynaBertRecipe(), new FineTuneRecipe())) {
            m.put(r.method(), r);
        }
        return m;
    }

    /** Fills defaults and checks every value; problems go to {@code p}. */
    static Resolved resolve(RecipeConfig c, RecipeFile.Problems p) {
        if (c.name() == null || !c.name().matches("[A-Za-z0-9._-]+")) {
            p.add("name", c.name() == null ? "required: the run's name (letters, digits, . _ -)"
                    : "use letters, digits, '.', '_' and '-' only, got '" + c.name() + "'");
        }
        Recipe recipe = null;
        if (c.method() == null) {
            p.add("method", "required: one of " + all().keySet());
        } else {
            recipe = all().get(c.method());
            if (recipe == null) {
                p.add("method", "unknown method '" + c.method() + "'; one of " + all().keySet());
            }
        }
        GlueTask task = null;
        boolean needsTask = recipe == null || recipe.needsTask();
        if (c.task() == null && needsTask) {
            p.add("task", "required: a GLUE task such as SST-2, MRPC, CoLA, STS-B, RTE");
        } else if (c.task() != null && !needsTask) {
            p.add("task", "method " + recipe.method() + " trains on data.corpus, not on a task: leave task out");
        } else if (c.task() != null) {
            task = RecipeFile.task(c.task(), p);
        }
        String device = c.device() == null ? "auto" : c.device();
        try {
            device = DeviceChoice.parse(device).toString();
        } catch (DistillException e) {
            p.add("device", "one of cpu, gpu, auto; got '" + device + "'");
        }

        RecipeConfig.Data d = c.data() == null ? new RecipeConfig.Data(null, null, null, null, null, null) : c.data();
        d = new RecipeConfig.Data(or(d.maxLength(), recipe == null ? GlueTraining.MAX_LENGTH : recipe.maxLength(task)),
                or(d.trainLimit(), 0), d.glueDir(), or(d.skipBadRows(), false), d.corpus(), d.trainFile());
        if (!needsTask && d.corpus() == null) {
            p.add("data.corpus", "required by method " + recipe.method() + ": a text file, one sentence or paragraph "
                    + "per line (./distill glue corpus --out FILE makes one from GLUE's training texts)");
        } else if (needsTask && d.corpus() != null) {
            p.add("data.corpus", "only general distillation (method tinybert-general) reads a corpus; a task's "
                    + "stages take their data in stages.NAME.data");
        }
        range(p, "data.max_length", d.maxLength(), 8, 512);
        range(p, "data.train_limit", d.trainLimit(), 0, Integer.MAX_VALUE);

        RecipeConfig.Teacher t = c.teacher();
        if (t != null && t.finetune() != null) {
            RecipeConfig.Finetune f = t.finetune();
            f = new RecipeConfig.Finetune(f.base(), or(f.epochs(), TrainerOptions.EPOCHS),
                    or(f.lr(), TrainerOptions.LEARNING_RATE), or(f.batchSize(), TrainerOptions.BATCH_SIZE),
                    or(f.trainLimit(), 0));
            if (f.base() == null) {
                p.add("teacher.finetune.base", "required: the model to fine-tune into the teacher");
            }
            range(p, "teacher.finetune.epochs", f.epochs(), 1, 1000);
            positive(p, "teacher.finetune.lr", f.lr(), 1);
            range(p, "teacher.finetune.batch_size", f.batchSize(), 1, 4096);
            range(p, "teacher.finetune.train_limit", f.trainLimit(), 0, Integer.MAX_VALUE);
            if (t.model() != null && !java.nio.file.Path.of(t.model()).getFileName().toString().equals("best")) {
                p.add("teacher.model", "with teacher.finetune, the model is the fine-tuning run's best/ directory "
                        + "(e.g. runs/teachers/minilm/SST-2/best), got '" + t.model() + "'");
            }
            t = new RecipeConfig.Teacher(t.model(), f, t.outputs());
        }
        if (t != null && t.outputs() != null) {
            if (recipe != null && !recipe.needsTeacher()) {
                p.add("teacher.outputs", "method " + recipe.method() + " has no teacher to read outputs of");
            } else if (!java.nio.file.Files.isDirectory(java.nio.file.Path.of(t.outputs()))) {
                p.add("teacher.outputs", "'" + t.outputs() + "' is not a directory; ./distill spark teacher-outputs "
                        + "--teacher " + (t.model() == null ? "MODEL" : t.model()) + " --out DIR makes one");
            }
        }
        if (recipe != null && recipe.needsTeacher() && (t == null || t.model() == null)) {
            p.add("teacher.model", "required by method " + recipe.method()
                    + ": a fine-tuned teacher directory, optionally with teacher.finetune to make it");
        }

        RecipeConfig.Student s = c.student();
        if (s == null || (s.layers() == null && s.shape() == null && s.init() == null)) {
            p.add("student", "give student.layers (teacher layers to keep, e.g. [2, 4, 6]), student.shape (a new "
                    + "random encoder, or with student.init or student.layers those layers narrowed to it), or "
                    + "student.init alone (a whole model, e.g. a general TinyBERT)");
        }
        if (s != null && s.layers() != null) {
            if (s.layers().isEmpty()) {
                p.add("student.layers", "needs at least one layer");
            }
            // The layers are the init model's, else the teacher's (or, not made yet, its fine-tuning base's).
            String source = s.init() != null ? s.init() : t == null ? null
                    : t.finetune() != null && t.finetune().base() != null && Checkpoint.layersOf(t.model()) == null
                    ? t.finetune().base() : t.model();
            Integer depth = source == null ? null : Checkpoint.layersOf(source);
            for (int i = 0; i < s.layers().size(); i++) {
                Integer layer = s.layers().get(i);
                if (layer == null || layer < 1) {
                    p.add("student.layers[" + i + "]", "layers are numbered from 1, got " + layer);
                } else if (depth != null && layer > depth) {
                    p.add("student.layers[" + i + "]", "layer " + layer + " does not exist: " + source + " has " + depth
                            + " layers (1.." + depth + ")");
                }
            }
        }
        if (s != null && s.shape() != null) {
            RecipeConfig.Shape sh = s.shape();
            range(p, "student.shape.layers", sh.layers(), 1, 48);
            range(p, "student.shape.hidden", sh.hidden(), 8, 8192);
            range(p, "student.shape.heads", sh.heads(), 1, 128);
            range(p, "student.shape.intermediate", sh.intermediate(), 1, 65536);
            if (sh.hidden() != null && sh.heads() != null && sh.heads() > 0 && sh.hidden() % sh.heads() != 0) {
                p.add("student.shape.heads", sh.heads() + " heads do not divide hidden size " + sh.hidden());
            }
            if (s.layers() != null && sh.layers() != null && s.layers().size() != sh.layers()) {
                p.add("student.layers", "names " + s.layers().size() + " layers but student.shape.layers is "
                        + sh.layers() + ": the narrowed student has one layer for each");
            }
            // Narrowing student.init without student.layers takes TinyBERT's uniform layers: shown resolved.
            Integer depth = s.init() == null ? null : Checkpoint.layersOf(s.init());
            if (s.init() != null && s.layers() == null && sh.layers() != null && depth != null) {
                if (sh.layers() > depth) {
                    p.add("student.shape.layers", sh.layers() + " layers narrowed from " + s.init() + ", which has "
                            + depth + ": give at most " + depth);
                } else if (sh.layers() >= 1) {
                    s = new RecipeConfig.Student(s.init(), StudentInit.uniformLayers(sh.layers(), depth), sh);
                }
            }
        }
        if (s != null && s.init() == null && (t == null || t.model() == null)
                && (s.shape() == null || s.layers() != null)) {
            p.add("student.init", "required when there is no teacher: the model whose layers start the student");
        }

        RecipeConfig.Lora lora = c.lora();
        if (lora != null) {
            int rank = or(lora.rank(), LoraConfig.DEFAULT.rank());
            if (lora.alpha() != null && !(lora.alpha() > 0)) {
                p.add("lora.alpha", "must be positive, got " + lora.alpha());
            }
            lora = new RecipeConfig.Lora(rank, or(lora.alpha(), (double) LoraConfig.defaultAlpha(Math.max(rank, 1))),
                    or(lora.dropout(), Double.valueOf(Float.toString(LoraConfig.DEFAULT.dropout()))), or(lora.targets(),
                    LoraConfig.DEFAULT.targets()), or(lora.trainBiases(), false), or(lora.trainLayerNorm(), false));
            range(p, "lora.rank", lora.rank(), 1, 4096);
            if (!(lora.dropout() >= 0 && lora.dropout() < 1)) {
                p.add("lora.dropout", "must be in [0, 1), got " + lora.dropout());
            }
            if (lora.targets().isEmpty() || lora.targets().stream().anyMatch(x -> x == null || x.isBlank())) {
                p.add("lora.targets", "name at least one projection, e.g. [query, value]");
            }
            if (recipe != null && !recipe.needsTask()) {
                p.add("lora", "method " + recipe.method() + " trains the whole general student; put adapters on "
                        + "the task recipes that start from it");
            } else if (s != null && s.shape() != null && s.init() == null && s.layers() == null) {
                p.add("lora", "adapters on a new random student.shape would train on a frozen random backbone: "
                        + "give student.layers or student.init, or leave lora out");
            }
        }

        RecipeConfig.Prune prune = c.prune();
        if (prune != null) {
            prune = new RecipeConfig.Prune(prune.sparsity(), or(prune.initial(), 0.0), or(prune.start(), 0.1),
                    or(prune.end(), 0.7), or(prune.every(), 20), or(prune.scope(), "matrix"));
            if (prune.sparsity() == null || !(prune.sparsity() > 0 && prune.sparsity() < 1)) {
                p.add("prune.sparsity", "required: the final share of zeros, in (0, 1), got " + prune.sparsity());
            } else if (!(prune.initial() >= 0 && prune.initial() <= prune.sparsity())) {
                p.add("prune.initial", "must be in [0, sparsity], got " + prune.initial());
            }
            if (!(prune.start() >= 0 && prune.start() < prune.end() && prune.end() <= 1)) {
                p.add("prune.start", "need 0 <= start < end <= 1 (shares of the stage's updates), got " + prune.start()
                        + " and " + prune.end());
            }
            range(p, "prune.every", prune.every(), 1, Integer.MAX_VALUE);
            if (!oneOf(prune.scope(), "matrix", "global")) {
                p.add("prune.scope", "matrix or global, got '" + prune.scope() + "'");
            }
            if (recipe != null && !recipe.needsTask()) {
                p.add("prune", "method " + recipe.method() + " makes a general student; prune the task recipes that "
                        + "start from it");
            }
        }

        RecipeConfig.Qat qat = c.qat();
        if (qat != null) {
            qat = new RecipeConfig.Qat(or(qat.perTensor(), false));
            if (lora != null) {
                p.add("qat", "int8 training wraps the projections LoRA adapts; the two do not combine yet: train "
                        + "the adapters, merge them (./distill lora merge), then train for int8 from the merged model");
            }
            if (recipe != null && !recipe.needsTask()) {
                p.add("qat", "method " + recipe.method() + " makes a general student; train for int8 in the task "
                        + "recipes that start from it");
            }
        }

        Map<String, Object> settings = new LinkedHashMap<>();
        if (recipe != null) {
            Map<String, Object> given = c.distill() == null ? Map.of() : c.distill();
            settings.putAll(recipe.defaults());
            for (Map.Entry<String, Object> e : given.entrySet()) {
                Object def = recipe.defaults().get(e.getKey());
                String key = "distill." + e.getKey();
                if (e.getKey().equals("alpha")) {
                    p.add(key, "renamed: alpha was the hard-label weight in distilbert and the soft-target weight in "
                            + "pkd; give hard_weight and soft_weight instead (0.5 and 0.5 by default)");
                } else if (!recipe.defaults().containsKey(e.getKey())) {
                    p.add(key, "not a setting of method " + recipe.method() + "; its settings are "
                            + recipe.defaults().keySet());
                } else if (def instanceof Number && !(e.getValue() instanceof Number)) {
                    p.add(key, "expected a number, got '" + e.getValue() + "'");
                } else if (def instanceof List && !(e.getValue() instanceof List)) {
                    p.add(key, "expected a list, got '" + e.getValue() + "'");
                } else {
                    settings.put(e.getKey(), e.getValue());
                }
            }
            recipe.check(settings, p);
        }

        RecipeConfig.Train tr = c.train() == null
                ? new RecipeConfig.Train(null, null, null, null, null, null, null, null, null, null, null) : c.train();
        String precision = or(tr.precision(), "fp32");
        try {
            precision = Precision.parse(precision).toString();
        } catch (DistillException e) {
            p.add("train.precision", e.getMessage());
        }
        if (qat != null && !precision.equals("fp32")) {
            p.add("qat", "int8 rounding is emulated in fp32; train.precision " + precision + " would round the "
                    + "emulation itself: leave train.precision at fp32");
        }
        Map<String, RecipeConfig.StageConfig> stageDefaults = recipe == null || (needsTask && task == null) ? Map.of()
                : recipe.stageDefaults(task);
        Map<String, RecipeConfig.StageConfig> stages = null;
        boolean staged = !stageDefaults.isEmpty();
        if (staged) {
            stages = stages(recipe, stageDefaults, c.stages(), p);
            Map<String, Object> perStage = new LinkedHashMap<>();
            perStage.put("epochs", tr.epochs());
            perStage.put("lr", tr.lr());
            perStage.put("batch_size", tr.batchSize());
            // 0 is the value a resolved recipe.yaml carries (the trainer's default), so reading a run's
            // recipe back is not refused; any other value belongs in the stages.
            Integer evalEvery = c.train() == null ? null : c.train().evalEvery();
            perStage.put("eval_every", evalEvery != null && evalEvery != 0 ? evalEvery : null);
            for (Map.Entry<String, Object> e : perStage.entrySet()) {
                if (e.getValue() != null) {
                    p.add("train." + e.getKey(), "method " + recipe.method() + " trains in stages "
                            + stageDefaults.keySet() + ", each with its own " + e.getKey() + ": set stages."
                            + stageDefaults.keySet().iterator().next() + "." + e.getKey() + " instead");
                }
            }
        } else if (c.stages() != null && recipe != null) {
            p.add("stages", "method " + recipe.method() + " trains in one stage, which train: configures");
        }
        if (d.trainFile() != null && recipe != null) {
            if (!needsTask) {
                p.add("data.train_file", "general distillation reads data.corpus, not a task's training file");
            } else if (staged) {
                p.add("data.train_file", "method " + recipe.method() + " trains in stages " + stageDefaults.keySet()
                        + ": give each its data in stages.NAME.data (train, or a TSV such as ./distill augment writes)");
            } else if (d.trainFile().isBlank()) {
                p.add("data.train_file", "a GLUE-layout TSV of the task (./distill augment --task " + task
                        + " --out FILE makes one), or leave it out to train on the training set");
            }
        }
        tr = new RecipeConfig.Train(staged ? null : or(tr.epochs(), TrainerOptions.EPOCHS),
                staged ? null : or(tr.batchSize(), TrainerOptions.BATCH_SIZE),
                staged ? null : or(tr.lr(), TrainerOptions.LEARNING_RATE), or(tr.weightDecay(), TrainerOptions.WEIGHT_DECAY),
                or(tr.warmup(), TrainerOptions.WARMUP_FRACTION), or(tr.maxGradNorm(), TrainerOptions.MAX_GRAD_NORM),
                or(tr.accumulation(), 1), or(tr.evalEvery(), 0), or(tr.checkpointEvery(), TrainerOptions.CHECKPOINT_EVERY),
                or(tr.cacheTeacher(), true), precision);
        if (!staged) {
            range(p, "train.epochs", tr.epochs(), 1, 1000);
            range(p, "train.batch_size", tr.batchSize(), 1, 4096);
            positive(p, "train.lr", tr.lr(), 1);
        }
        if (tr.weightDecay() < 0 || tr.weightDecay() >= 1) {
            p.add("train.weight_decay", "must be in [0, 1), got " + tr.weightDecay());
        }
        if (tr.warmup() < 0 || tr.warmup() > 1) {
            p.add("train.warmup", "a share of the updates, in [0, 1], got " + tr.warmup());
        }
        if (tr.maxGradNorm() < 0) {
            p.add("train.max_grad_norm", "must be >= 0 (0 turns clipping off), got " + tr.maxGradNorm());
        }
        range(p, "train.accumulation", tr.accumulation(), 1, 1024);
        range(p, "train.eval_every", tr.evalEvery(), 0, Integer.MAX_VALUE);
        range(p, "train.checkpoint_every", tr.checkpointEvery(), 0, Integer.MAX_VALUE);

        RecipeConfig.Output o = c.output() == null ? new RecipeConfig.Output(null, null) : c.output();
        o = new RecipeConfig.Output(o.dir() != null ? o.dir() : "runs/" + c.name(), or(o.speedExamples(), 256));
        range(p, "output.speed_examples", o.speedExamples(), 0, 1_000_000);

        RecipeConfig resolved = new RecipeConfig(c.name(), c.method(), task == null ? c.task() : task.dirName(),
                c.seed() == null ? TrainerOptions.SEED : c.seed(), device, d, t, s, lora, prune, qat, settings, tr, stages,
                o);
        return new Resolved(resolved, recipe, task);
    }

    /** The method's stages with the file's values over its defaults, each value checked. */
    private static Map<String, RecipeConfig.StageConfig> stages(Recipe recipe,
            Map<String, RecipeConfig.StageConfig> defaults, Map<String, RecipeConfig.StageConfig> given,
            RecipeFile.Problems p) {
        Map<String, RecipeConfig.StageConfig> g = given == null ? Map.of() : given;
        for (String name : g.keySet()) {
            if (!defaults.containsKey(name)) {
                p.add("stages." + name, "not a stage of method " + recipe.method() + "; its stages are "
                        + defaults.keySet());
            }
        }
        Map<String, RecipeConfig.StageConfig> out = new LinkedHashMap<>();
        defaults.forEach((name, d) -> {
            RecipeConfig.StageConfig v = g.get(name) == null ? new RecipeConfig.StageConfig(null, null, null, null,
                    null, null, null) : g.get(name);
            RecipeConfig.StageConfig m = new RecipeConfig.StageConfig(or(v.epochs(), d.epochs()), or(v.lr(), d.lr()),
                    or(v.batchSize(), d.batchSize()), or(v.data(), d.data()), or(v.schedule(), d.schedule()),
                    or(v.keep(), d.keep()), or(v.evalEvery(), d.evalEvery()));
            String k = "stages." + name + ".";
            range(p, k + "epochs", m.epochs(), 1, 1000);
            positive(p, k + "lr", m.lr(), 1);
            range(p, k + "batch_size", m.batchSize(), 1, 4096);
            range(p, k + "eval_every", m.evalEvery(), 0, Integer.MAX_VALUE);
            if (d.data().equals("corpus") && !"corpus".equals(m.data())) {
                p.add(k + "data", "general distillation reads data.corpus: leave stages." + name + ".data out");
            } else if (m.data() == null || m.data().isBlank()) {
                p.add(k + "data", "train (the task's training set) or a GLUE-layout TSV file of the task");
            }
            if (!oneOf(m.schedule(), "linear", "constant")) {
                p.add(k + "schedule", "linear or constant, got '" + m.schedule() + "'");
            }
            if (!oneOf(m.keep(), "last", "best")) {
                p.add(k + "keep", "last (the model at the stage's end) or best (the best on dev), got '" + m.keep()
                        + "'");
            }
            out.put(name, m);
        });
        return out;
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    private static void range(RecipeFile.Problems p, String key, Integer v, int lo, int hi) {
        if (v == null) {
            p.add(key, "required");
        } else if (v < lo || v > hi) {
            p.add(key, hi == Integer.MAX_VALUE ? "must be at least " + lo + ", got " + v
                    : "must be in [" + lo + ", " + hi + "], got " + v);
        }
    }

    private static void positive(RecipeFile.Problems p, String key, Double v, double below) {
        if (v == null || !(v > 0) || v >= below) {
            p.add(key, "must be in (0, " + below + "), got " + v);
        }
    }

    /** Shared checks of distill settings. */
    /** Whether a recipe value is one of the allowed words; a null (a key written with no value) is not. */
    static boolean oneOf(Object value, String... allowed) {
        return value != null && java.util.Arrays.asList(allowed).contains(value);
    }

    static void checkRange(Map<String, Object> s, String key, double lo, double hi, boolean openLow,
            RecipeFile.Problems p) {
        Object v = s.get(key);
        if (v instanceof Number n) {
            double x = n.doubleValue();
            if ((openLow ? x <= lo : x < lo) || x > hi) {
                p.add("distill." + key, "must be in " + (openLow ? "(" : "[") + lo + ", " + hi + "], got " + x);
            }
        }
    }

    /** Checks {@code teacher_layers}: explicit teacher layer numbers, from 1 (PKD, TinyBERT). */
    static void checkTeacherLayers(Map<String, Object> s, RecipeFile.Problems p) {
        if (s.get("teacher_layers") instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                if (!(l.get(i) instanceof Integer n) || n < 1) {
                    p.add("distill.teacher_layers[" + i + "]", "a teacher layer number from 1, got " + l.get(i));
                }
            }
        }
    }

    /** Student layers 1, 2, … learning from the given teacher layers, in order; null when none are given. */
    static LayerMapping teacherLayers(Context c) {
        List<?> explicit = (List<?>) c.settings().get("teacher_layers");
        if (explicit.isEmpty()) {
            return null;
        }
        int[] s = new int[explicit.size()];
        int[] t = new int[explicit.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = i + 1;
            t[i] = (Integer) explicit.get(i);
        }
        return LayerMapping.explicit(s, t);
    }

    /** The stages' weighted terms, for logs: {@code hard × 0.5 + soft × 0.5}, stages separated by {@code ; }. */
    static String describe(Plan plan) {
        List<String> out = new ArrayList<>();
        for (Stage s : plan.stages()) {
            String terms = String.join(" + ", s.terms().stream().map(WeightedTerm::toString).toList());
            out.add(plan.stages().size() == 1 ? terms : s.name() + ": " + terms);
        }
        return String.join("; ", out);
    }
}
