package org.distill4j.cli;

import java.nio.file.Path;
import org.distill4j.glue.Dataset;
import org.distill4j.glue.GlueEvaluator;
import picocli.CommandLine.Command;

/** Writes GLUE submission files (e.g. MRPC.tsv; MNLI-m.tsv, MNLI-mm.tsv and AX.tsv for MNLI). */
@Command(name = "predict", description = "Write the GLUE submission file(s) for a test split.")
final class PredictCommand extends EvalCommand {

    PredictCommand() {
        split = "test";
    }

    @Override
    void handle(Path dir, Dataset data, double[] pred) {
        Path file = GlueEvaluator.writeSubmission(dir, data, pred);
        System.out.printf("%s %s: %d predictions -> %s%n", data.task(), data.split().name(), data.size(), file);
    }
}
