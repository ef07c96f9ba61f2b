package org.distill4j.glue;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.distill4j.AtomicFile;

/**
 * Unlabelled text for general distillation made from GLUE's training files: every text of every
 * training example (both sides of a pair), one per line, in file order, each distinct line once.
 * With {@code pairs}, a pair task's example is one line {@code A<TAB>B}, which general distillation
 * reads as a sentence pair ({@code TextCorpus}), as TinyBERT's reference reads its corpus. Dev and
 * test texts are left out, so a student distilled on the corpus has not read what it is scored on.
 */
public final class GlueCorpus {

    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    private GlueCorpus() {}

    /**
     * What was written.
     *
     * @param lines distinct lines written (texts, or pairs with {@code pairs})
     * @param perTask lines each task contributed that no earlier task had
     * @param missing tasks whose training file is not in the GLUE directory
     */
    public record Result(Path file, int lines, Map<GlueTask, Integer> perTask, List<GlueTask> missing) {}

    /**
     * Writes the corpus of {@code tasks} to {@code out}, replacing it only once complete. Tasks
     * whose training file is absent are skipped and listed; none present is an error. Malformed
     * rows fail the run unless {@code skipBadRows} (see {@link GlueReader#read}).
     */
    public static Result write(Path glueDir, List<GlueTask> tasks, Path out, boolean skipBadRows) {
        return write(glueDir, tasks, out, skipBadRows, false);
    }

    /** @param pairs write a pair task's examples as {@code A<TAB>B} lines instead of a line a side */
    public static Result write(Path glueDir, List<GlueTask> tasks, Path out, boolean skipBadRows, boolean pairs) {
        Set<String> seen = new HashSet<>();
        Map<GlueTask, Integer> perTask = new LinkedHashMap<>();
        List<GlueTask> missing = new ArrayList<>();
        try {
            AtomicFile.write(out, tmp -> {
                try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    for (GlueTask task : tasks) {
                        if (!Files.isRegularFile(glueDir.resolve(task.train().file()))) {
                            missing.add(task);
                            continue;
                        }
                        int added = 0;
                        for (Example e : GlueReader.read(glueDir, task, task.train(), skipBadRows).examples()) {
                            String a = oneLine(e.textA());
                            String b = oneLine(e.textB());
                            added += pairs && !a.isEmpty() && !b.isEmpty() ? add(a + "\t" + b, seen, w)
                                    : add(a, seen, w) + add(b, seen, w);
                        }
                        perTask.put(task, added);
                    }
                }
                if (perTask.isEmpty()) { // the old corpus, if any, stays
                    throw new IllegalArgumentException("no GLUE training file of " + tasks + " in "
                            + glueDir.toAbsolutePath().normalize() + "; fetch some with ./distill glue download "
                            + "--tasks TASK --dir " + glueDir);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("writing the GLUE corpus " + out + ": " + e.getMessage(), e);
        }
        return new Result(out, seen.size(), perTask, missing);
    }

    /** A text on one line: each run of white space, tabs and line ends included, as one space; "" for none. */
    private static String oneLine(String text) {
        return text == null ? "" : WHITESPACE.matcher(text).replaceAll(" ").strip();
    }

    /** Writes {@code line} unless it is empty or already written; 1 if written. */
    private static int add(String line, Set<String> seen, BufferedWriter w) throws IOException {
        if (line.isEmpty() || !seen.add(line)) {
            return 0;
        }
        w.write(line);
        w.newLine();
        return 1;
    }
}
