package org.distill4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.glue.GlueCorpus;
import org.distill4j.glue.GlueDownloader;
import org.distill4j.glue.GlueTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** GLUE data management. */
@Command(name = "glue", description = "GLUE data: download, and a text corpus for general distillation.",
        subcommands = {GlueCommand.Download.class, GlueCommand.Corpus.class})
final class GlueCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** The tasks named by {@code --tasks}: every task if one of the names is {@code all}. */
    static List<GlueTask> tasks(List<String> names) {
        if (names.stream().anyMatch(t -> t.equalsIgnoreCase("all"))) {
            return List.of(GlueTask.values());
        }
        return names.stream().map(GlueTask::parse).toList();
    }

    @Command(name = "download", description = "Download GLUE tasks into the standard layout and check them.")
    static final class Download implements Runnable {

        @Option(names = "--tasks", required = true, split = ",", paramLabel = "TASK[,TASK...]",
                description = "tasks to fetch, or 'all'")
        List<String> tasks;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "GLUE directory to fill")
        Path dir;

        @Option(names = "--mirror", paramLabel = "URL", description = "replaces " + GlueDownloader.OFFICIAL
                + " in every default URL")
        String mirror;

        @Option(names = "--url", paramLabel = "KEY=URL", description = "full URL for one file; KEY is a task name, AX, "
                + "MRPC_TRAIN, MRPC_TEST or MRPC_DEV_IDS")
        Map<String, String> urls = new LinkedHashMap<>();

        @Override
        public void run() {
            List<GlueTask> selected = tasks(tasks);
            Map<String, String> overrides = new LinkedHashMap<>();
            urls.forEach((k, v) -> overrides.put(k.equals("AX") || k.startsWith("MRPC_") ? k
                    : GlueTask.parse(k).dirName(), v));
            for (GlueDownloader.Report r : new GlueDownloader(mirror, overrides).download(selected, dir)) {
                System.out.println(r.task() + ": " + r.rows());
            }
        }
    }

    @Command(name = "corpus", description = "Write every GLUE training text, one per line and each once, as "
            + "unlabelled text for general distillation.")
    static final class Corpus implements Runnable {

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "text file to write")
        Path out;

        @Option(names = "--tasks", split = ",", paramLabel = "TASK[,TASK...]", defaultValue = "all",
                description = "tasks to take texts from (default: all found)")
        List<String> tasks;

        @Option(names = "--pairs", description = "write a pair task's example as one line, its two texts "
                + "separated by a tab: general distillation then reads it as a sentence pair, and trains the "
                + "second segment that pair tasks use (default: a line per text)")
        boolean pairs;

        @Mixin
        GlueDataOptions data;

        @Override
        public void run() {
            GlueCorpus.Result r = GlueCorpus.write(data.dir(), tasks(tasks), out, data.skipBadRows, pairs);
            r.perTask().forEach((task, n) -> System.out.println(task + ": " + n + " lines"));
            if (!r.missing().isEmpty()) {
                System.out.println("no training file in " + data.dir() + ": " + r.missing());
            }
            System.out.println(r.file() + ": " + r.lines() + " lines");
        }
    }
}
