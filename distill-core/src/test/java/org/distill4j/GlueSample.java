package org.distill4j;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Real text from the GLUE dev sets for tests, read straight from the TSV files (tab-separated, no
 * quote processing). Found via the {@code glue.dir} system property (set by Surefire), then
 * {@code $GLUE_DIR}, then {@code ../shared/data/glue}.
 */
public final class GlueSample {

    /** One example: a text and an optional second text. */
    public record Text(String first, String second) {}

    private GlueSample() {}

    public static Path glueDir() {
        List<Path> candidates = new ArrayList<>();
        if (System.getProperty("glue.dir") != null) {
            candidates.add(Path.of(System.getProperty("glue.dir")));
        }
        if (System.getenv("GLUE_DIR") != null) {
            candidates.add(Path.of(System.getenv("GLUE_DIR")));
        }
        candidates.add(Path.of("../shared/data/glue"));
        candidates.add(Path.of("../../shared/data/glue"));
        for (Path p : candidates) {
            if (Files.isDirectory(p.resolve("SST-2"))) {
                return p;
            }
        }
        throw new IllegalStateException("GLUE data not found in " + candidates + "; set -Dglue.dir or $GLUE_DIR");
    }

    /**
     * @param task directory name, e.g. SST-2
     * @param firstColumn column of the first text
     * @param secondColumn column of the second text, or -1
     * @param count rows to take from the start of dev.tsv (after its header)
     */
    public static List<Text> dev(String task, int firstColumn, int secondColumn, int count) {
        try {
            List<String> lines = Files.readAllLines(glueDir().resolve(task).resolve("dev.tsv"), StandardCharsets.UTF_8);
            List<Text> out = new ArrayList<>();
            for (String line : lines.subList(1, lines.size())) {
                String[] cols = line.split("\t", -1);
                out.add(new Text(cols[firstColumn], secondColumn < 0 ? null : cols[secondColumn]));
                if (out.size() == count) {
                    break;
                }
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes a GLUE directory holding one task whose files are the real ones cut short: for tests
     * that check what a run does (resume, Spark against one machine), not how well it scores, and so
     * need not score the whole dev set at every evaluation. Files named {@code dev*} keep their
     * first {@code devRows} rows, {@code train*} their first {@code trainRows} (0 keeps all), after
     * the header line every task but CoLA has; other files are left out.
     *
     * @return {@code into}, to use as a GLUE directory
     */
    public static Path slice(Path into, String task, int trainRows, int devRows) {
        int header = task.equals("CoLA") ? 0 : 1;
        Path from = glueDir().resolve(task);
        try (var files = Files.list(from)) {
            Files.createDirectories(into.resolve(task));
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".tsv")).toList()) {
                String name = f.getFileName().toString();
                int rows = name.startsWith("dev") ? devRows : name.startsWith("train") ? trainRows : -1;
                if (rows < 0) {
                    continue;
                }
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                int keep = rows == 0 ? lines.size() : Math.min(lines.size(), header + rows);
                Files.write(into.resolve(task).resolve(name), lines.subList(0, keep), StandardCharsets.UTF_8);
            }
            return into;
        } catch (IOException e) {
            throw new IllegalStateException("cannot slice " + from + " into " + into + ": " + e.getMessage(), e);
        }
    }

    /** 40 examples of varied length: SST-2 sentences, MRPC, RTE and STS-B pairs. */
    public static List<Text> mixed() {
        List<Text> all = new ArrayList<>();
        all.addAll(dev("SST-2", 0, -1, 12));
        all.addAll(dev("MRPC", 3, 4, 10));
        all.addAll(dev("RTE", 1, 2, 8));
        all.addAll(dev("STS-B", 7, 8, 10));
        return all;
    }
}
