package org.distill4j.cli;

import org.distill4j.DistillException;
import org.distill4j.StopSignal;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code distill} command line. */
@Command(name = "distill", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
        versionProvider = VersionCommand.Provider.class,
        description = "Distil BERT-family encoders with DJL: inspect, convert, embed, fill masks, fine-tune and evaluate on GLUE.",
        subcommands = {VersionCommand.class, InspectCommand.class, ConvertCommand.class, EmbedCommand.class,
                FillMaskCommand.class, FinetuneCommand.class, RunCommand.class, ValidateCommand.class,
                EvalCommand.class, PredictCommand.class, GlueCommand.class, AugmentCommand.class, ReportCommand.class,
                ExportCommand.class, ServeCommand.class, LoraCommand.class, ImportanceCommand.class, PruneCommand.class,
                ExtractCommand.class, CommandLine.HelpCommand.class})
public final class DistillCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        StopSignal.install(); // SIGTERM and Ctrl-C stop between native calls, a training run after a checkpoint
        int code;
        try {
            code = run(args);
        } finally {
            StopSignal.finished();
        }
        System.exit(code);
    }

    /** Runs a command line and returns its exit code: 0 success, 1 a reported error, 2 a usage error. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new DistillCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof DistillException || e instanceof IllegalArgumentException) {
                cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cli.execute(args);
    }
}
