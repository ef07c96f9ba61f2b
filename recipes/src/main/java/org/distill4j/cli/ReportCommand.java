package org.distill4j.cli;

import java.nio.file.Path;
import java.util.List;
import org.distill4j.glue.GlueReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Compares runs on GLUE dev. */
@Command(name = "report", description = "Compare fine-tuned or distilled runs: report.md, report.json, report.png.")
final class ReportCommand implements Runnable {

    @Parameters(paramLabel = "RUN_DIR", arity = "1..*", description = "run directories (with best/) or model directories")
    List<Path> runs;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "where the report goes")
    Path out;

    @Mixin
    GlueDataOptions glue;

    @Option(names = "--speed-examples", defaultValue = "256",
            description = "dev examples timed for inference speed (default 256; 0 skips timing)")
    int speedExamples;

    @Override
    public void run() {
        var entries = GlueReport.collect(runs, glue.dir(), speedExamples);
        GlueReport.write(entries, out);
        System.out.println("wrote " + out.resolve("report.md") + ", report.json, report.png");
    }
}
