package org.distill4j.recipe;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * One YAML recipe: everything a run needs, written back out beside its results. Keys are
 * snake_case in the file; {@code configs/README.md} documents each. Absent optional values get
 * their defaults in {@link RecipeFile}, so a resolved config has no nulls except where "none" is
 * meant.
 *
 * @param name the run's name; its directory is {@code runs/<name>} unless {@code output.dir} says
 * @param method distilbert | pkd | tinybert | tinybert-general | finetune
 * @param task a GLUE task (SST-2, MRPC, CoLA, STS-B, RTE, ...); none for general distillation
 * @param seed drives weight initialisation, data order, dropout and masking
 * @param device cpu, gpu or auto (the GPU if PyTorch sees one)
 * @param lora low-rank adapters on the student, whose backbone is then frozen; absent to train every
 *     weight (and then left out of the written recipe, so the hashes of runs without it stay)
 * @param prune gradual magnitude pruning of the student's encoder over the last stage; absent for none
 *     (and left out of the written recipe)
 * @param qat quantization-aware training: the student trains through the int8 export's rounding;
 *     absent for fp32 training (and left out of the written recipe)
 * @param stages per-stage settings of a method that trains in stages (TinyBERT), by stage name;
 *     absent for one-stage methods (and then left out of the written recipe, so their hashes stay)
 */
public record RecipeConfig(String name, String method, String task, Long seed, String device, Data data,
        Teacher teacher, Student student, @JsonInclude(JsonInclude.Include.NON_NULL) Lora lora,
        @JsonInclude(JsonInclude.Include.NON_NULL) Prune prune,
        @JsonInclude(JsonInclude.Include.NON_NULL) Qat qat, Map<String, Object> distill, Train train,
        @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, StageConfig> stages, Output output) {

    /**
     * @param maxLength tokens per example, truncated longest-first
     * @param trainLimit use the first this many training examples (0 = all)
     * @param glueDir GLUE directory (else --glue-dir, $GLUE_DIR, ../shared/data/glue)
     * @param corpus for general distillation: a text file, one sentence or paragraph per line, or a
     *     pair {@code A<TAB>B}
     * @param trainFile for one-stage methods: a GLUE-layout TSV of the task to train on instead of its
     *     training set, e.g. TinyBERT's augmented set ({@code ./distill augment}); null = the training set
     */
    public record Data(Integer maxLength, Integer trainLimit, String glueDir, Boolean skipBadRows,
            @JsonInclude(JsonInclude.Include.NON_NULL) String corpus,
            @JsonInclude(JsonInclude.Include.NON_NULL) String trainFile) {}

    /**
     * @param model a fine-tuned teacher directory (or any model name, for plain fine-tuning)
     * @param finetune when {@code model} does not exist yet: fine-tune it first
     * @param outputs a directory of the teacher's outputs as Parquet shards ({@code ./distill spark
     *     teacher-outputs}), read instead of running the teacher over the training set
     */
    public record Teacher(String model, Finetune finetune,
            @JsonInclude(JsonInclude.Include.NON_NULL) String outputs) {}

    /**
     * How to make a missing teacher: fine-tune {@code base} into {@code model}'s parent directory.
     */
    public record Finetune(String base, Integer epochs, Double lr, Integer batchSize, Integer trainLimit) {}

    /**
     * The student: teacher layers to keep (1-based, taken from {@code init}), a new shape, or the
     * whole of {@code init} (a general TinyBERT, say) when neither is given.
     *
     * @param init the model whose weights start the student (default: the teacher)
     * @param layers which of its layers the student keeps, in order (1 = the first layer)
     * @param shape a new, randomly initialised shape instead
     */
    public record Student(String init, List<Integer> layers, Shape shape) {}

    /**
     * One stage's settings; every key is filled in a resolved recipe, from the method's defaults
     * for the task where the file gives none.
     *
     * @param epochs passes over the stage's data
     * @param lr peak learning rate
     * @param batchSize examples per micro-batch
     * @param data {@code train} (the task's training set) or a GLUE-layout TSV of the task, e.g.
     *     the output of {@code ./distill augment}
     * @param schedule {@code linear} (warm-up, then decay to 0) or {@code constant}
     * @param keep {@code last}: the model at the stage's last update goes on; {@code best}: the best on dev
     * @param evalEvery evaluate every this many updates; 0: at epoch ends for {@code best}, at the
     *     stage's end for {@code last}
     */
    public record StageConfig(Integer epochs, Double lr, Integer batchSize, String data, String schedule,
            String keep, Integer evalEvery) {}

    /**
     * LoRA adapters on the student: they, the task head and the loss terms' own projections train,
     * the student's other weights stay as initialised.
     *
     * @param rank r (default 8)
     * @param alpha the update is scaled by alpha / r (default 2 r)
     * @param dropout dropout on the adapters' input (default 0.1)
     * @param targets projections that get an adapter, by HuggingFace module name (default query, value)
     * @param trainBiases biases of the encoder train too (default false)
     * @param trainLayerNorm LayerNorms of the encoder train too (default false)
     */
    public record Lora(Integer rank, Double alpha, Double dropout, List<String> targets, Boolean trainBiases,
            Boolean trainLayerNorm) {

        /** As the model package takes it. */
        public org.distill4j.model.LoraConfig toConfig() {
            return new org.distill4j.model.LoraConfig(rank, alpha.floatValue(), dropout.floatValue(), targets,
                    trainBiases, trainLayerNorm);
        }
    }

    /**
     * Gradual magnitude pruning of the encoder's projection matrices.
     *
     * @param sparsity the final share of zeros, s_f
     * @param initial the share at the start of pruning, s_i (default 0)
     * @param start when pruning starts, as a share of the stage's updates (default 0.1)
     * @param end when the final share is reached (default 0.7)
     * @param every updates between mask recomputations, Δt (default 20)
     * @param scope {@code matrix} (each matrix loses its share) or {@code global} (one threshold)
     */
    public record Prune(Double sparsity, Double initial, Double start, Double end, Integer every, String scope) {

        /** As the prune package takes it. */
        public org.distill4j.prune.MagnitudePruning.Schedule toSchedule() {
            return new org.distill4j.prune.MagnitudePruning.Schedule(sparsity, initial, start, end, every,
                    scope.equals("global"));
        }
    }

    /**
     * Quantization-aware training (Q8BERT): the student's encoder projections and word embeddings
     * see the rounding {@code ./distill export --int8} will apply, with gradients passed straight
     * through, so that the int8 export keeps the score the run selected its best model by.
     *
     * @param perTensor one scale per weight matrix, for {@code export --int8 --per-tensor} (default
     *     false: one per output column, the export's default)
     */
    public record Qat(Boolean perTensor) {}

    /** A new encoder shape (vocabulary and embeddings sizes follow the teacher). */
    public record Shape(Integer layers, Integer hidden, Integer heads, Integer intermediate) {}

    /**
     * @param warmup share of updates spent warming up
     * @param evalEvery evaluate every this many updates (0: at each epoch end)
     * @param checkpointEvery checkpoint every this many updates (besides evaluations)
     * @param cacheTeacher compute the teacher's logits and [CLS] states once per example when the loss
     *     needs nothing more (Patient-KD, soft targets); not part of a run's identity
     * @param precision fp32, or fp16 mixed precision with fp32 master weights
     */
    public record Train(Integer epochs, Integer batchSize, Double lr, Double weightDecay, Double warmup,
            Double maxGradNorm, Integer accumulation, Integer evalEvery, Integer checkpointEvery,
            Boolean cacheTeacher, String precision) {}

    /**
     * @param dir the run directory
     * @param speedExamples dev examples timed to measure the speed-up (0 to skip)
     */
    public record Output(String dir, Integer speedExamples) {}
}
