package org.distill4j.cli;

import java.nio.file.Path;
import java.util.List;
import org.distill4j.DistillException;
import org.distill4j.glue.GlueReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Compares runs on GLUE dev. */
@Command(name = "report", description = "Compare fine-tuned or distilled runs: report.md, report.json, report.png.")
final class ReportCommand implements Runnable {

    @Parameters(paramLabel = "RUN_DIR", arity = "0..*", description = "run directories (with best/) or model directories")
    List<Path> runs = List.of();

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "where the report goes")
    Path out;

    @Mixin
    GlueDataOptions glue;

    @Option(names = "--speed-examples", defaultValue = "256",
            description = "dev examples timed for inference speed (default 256; 0 skips timing)")
    int speedExamples;

    @Option(names = "--redraw", paramLabel = "REPORT_DIR",
            description = "write the tables and charts of an earlier report again from its report.json, "
                    + "without evaluating or timing anything")
    Path redraw;

    @Override
    public void run() {
        if (redraw != null && !runs.isEmpty()) {
            throw new DistillException("--redraw " + redraw + " draws a saved report again; it takes no RUN_DIR (got "
                    + runs + ")");
        }
        if (redraw == null && runs.isEmpty()) {
            throw new DistillException("Name the run or model directories to compare, or --redraw REPORT_DIR");
        }
        var entries = redraw != null ? GlueReport.read(redraw) : GlueReport.collect(runs, glue.dir(), speedExamples);
        GlueReport.write(entries, out);
        System.out.println("wrote " + out.resolve("report.md") + ", report.json, report.png");
    }
}
