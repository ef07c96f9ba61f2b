package org.distill4j.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.Example;
import org.distill4j.glue.GlueEvaluator;
import org.distill4j.glue.GlueReader;
import org.distill4j.glue.GlueTask;
import org.distill4j.glue.GlueTraining;
import org.distill4j.glue.Split;
import org.distill4j.glue.TaskScore;
import org.distill4j.model.BertModel;
import org.distill4j.serve.Backend;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.Prediction;
import org.distill4j.serve.TextClassifier;
import org.distill4j.text.BertTokenizer;
import org.distill4j.train.TrainerOptions;
import org.distill4j.weights.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Scores a fine-tuned model on a labeled GLUE split, or writes submission files for a test split. */
@Command(name = "eval", description = "Evaluate a fine-tuned model on a GLUE split: metrics.json, predictions.tsv.")
class EvalCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a fine-tuned model directory")
    Path model;

    @Option(names = "--task", paramLabel = "TASK", description = "the task (default: from DIR/distill.json)")
    String task;

    @Option(names = "--split", description = "split name (eval: default dev, both dev sets for MNLI; "
            + "predict: default test, for MNLI matched, mismatched and AX)")
    String split = "dev";

    @Option(names = "--out", paramLabel = "DIR", description = "where files go (default DIR/eval-SPLIT)")
    Path out;

    @Mixin
    GlueDataOptions glue;

    @Option(names = "--max-length", paramLabel = "N",
            description = "tokens per example (default: the length the model was trained at, from its distill.json)")
    Integer maxLength;

    @Option(names = "--batch-size", defaultValue = "" + TrainerOptions.EVAL_BATCH_SIZE,
            description = "examples per forward pass (default ${DEFAULT-VALUE})")
    int batchSize;


    @Option(names = "--backend", defaultValue = "djl", paramLabel = "djl|onnx", description = "djl (default), or onnx: "
            + "ONNX Runtime on a .onnx file or DIR/model.onnx (./distill export)")
    String backend;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        if (Backend.parse(backend) == Backend.ONNX) {
            runOnnx();
            return;
        }
        GlueTask t = task(model);
        Path dir = outputDir(model, "");
        Checkpoint ckpt = Checkpoint.load(model.toString());
        try (NDManager m = NDManager.newBaseManager(device.resolve()); BertModel bert = ckpt.toModel(m);
                BertTokenizer tok = ckpt.tokenizer(maxLength != null ? maxLength : GlueTraining.maxLength(model))) {
            for (Split s : t.select(split)) {
                Dataset data = GlueReader.read(glue.dir(), t, s, glue.skipBadRows);
                double[] pred = GlueEvaluator.predict(bert, tok, data, batchSize);
                handle(dir, data, pred);
            }
        }
    }

    /** The same evaluation through the serving API's ONNX Runtime backend. */
    private void runOnnx() {
        Path infoDir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        GlueTask t = task(infoDir);
        Path dir = outputDir(infoDir, "-onnx");
        InferenceOptions options = InferenceOptions.defaults().withBackend(Backend.ONNX).withBatchSize(batchSize)
                .withMaxLength(maxLength != null ? maxLength : 0);
        try (TextClassifier classifier = TextClassifier.load(model.toString(), options)) {
            if (classifier.isRegression() != t.isRegression()
                    || (!t.isRegression() && classifier.labels().size() != t.outputs())) {
                throw new DistillException(model + " is " + classifier + " but " + t + " needs " + t.outputs()
                        + " outputs");
            }
            for (Split s : t.select(split)) {
                Dataset data = GlueReader.read(glue.dir(), t, s, glue.skipBadRows);
                List<Example> ex = data.examples();
                List<Prediction> p = classifier.predictAll(ex.stream().map(Example::textA).toList(),
                        ex.stream().map(Example::textB).toList());
                double[] pred = new double[p.size()];
                for (int i = 0; i < pred.length; i++) {
                    pred[i] = t.isRegression() ? p.get(i).score() : classifier.labels().indexOf(p.get(i).label());
                }
                handle(dir, data, pred);
            }
        }
    }

    void handle(Path dir, Dataset data, double[] pred) {
        if (!data.split().layout().labeled()) {
            throw new DistillException(data.file() + " has no labels; use './distill predict' for test splits");
        }
        TaskScore s = GlueEvaluator.score(data, pred);
        GlueEvaluator.writeEvaluation(dir, data, pred, s, model.toString());
        System.out.printf("%s %s (%d examples): %s  -> %s%n", data.task(), data.split().name(), data.size(),
                s.summary(), dir);
    }

    /** --out, else DIR/eval-SPLIT (or predict-SPLIT) with {@code suffix}. */
    private Path outputDir(Path modelDir, String suffix) {
        return out != null ? out : modelDir.resolve((this instanceof PredictCommand ? "predict-" : "eval-") + split
                + suffix);
    }

    /**
     * --task, else the task the directory was trained for (its distill.json). Scoring a model on a
     * task it was not trained for is allowed (label sets may agree) but said.
     */
    private GlueTask task(Path modelDir) {
        return GlueTraining.task(modelDir, task);
    }
}
