package org.distill4j.glue;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.DistillException;

/**
 * Reads GLUE TSV files in the layout of the original {@code download_glue_data.py}. Fields are
 * split on tabs with no quote processing: GLUE texts contain bare quotes, and CSV quoting would
 * merge rows. A malformed row stops the read with file, line and reason, unless bad rows are
 * skipped, in which case the count is reported in the {@link Dataset}.
 */
public final class GlueReader {

    /** Where GLUE data is looked for when no directory is given and $GLUE_DIR is unset. */
    public static final Path DEFAULT_DIR = Path.of("../shared/data/glue");

    private GlueReader() {}

    /** The GLUE directory: the explicit one, else {@code $GLUE_DIR}, else {@code ../shared/data/glue}. */
    public static Path locate(Path explicit) {
        if (explicit != null) {
            return explicit;
        }
        String env = System.getenv("GLUE_DIR");
        return env != null && !env.isBlank() ? Path.of(env) : DEFAULT_DIR;
    }

    public static Dataset read(Path glueDir, GlueTask task, Split split, boolean skipBadRows) {
        Path file = glueDir.resolve(split.file());
        if (!Files.isRegularFile(file)) {
            throw new DistillException("GLUE file not found: " + file.toAbsolutePath().normalize() + " (looked in "
                    + "--glue-dir, then $GLUE_DIR, then " + DEFAULT_DIR + "). Download it with: ./distill glue download "
                    + "--tasks " + task.dirName() + " --dir " + glueDir);
        }
        Layout layout = split.layout();
        List<Example> out = new ArrayList<>();
        int skipped = 0;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (lineNo == 1 && !line.isEmpty() && line.charAt(0) == '\uFEFF') {
                    line = line.substring(1); // MRPC ships with a UTF-8 byte-order mark
                }
                if (lineNo == 1 && layout.header()) {
                    continue;
                }
                if (line.isEmpty()) {
                    continue;
                }
                String problem;
                try {
                    out.add(parse(line, lineNo, out.size(), task, layout));
                    continue;
                } catch (IllegalArgumentException e) {
                    problem = e.getMessage();
                }
                if (!skipBadRows) {
                    throw new DistillException(file + ":" + lineNo + ": " + problem
                            + " (use --skip-bad-rows to skip such rows)");
                }
                skipped++;
            }
        } catch (IOException e) {
            throw new DistillException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        return new Dataset(task, split, file, List.copyOf(out), skipped);
    }

    private static Example parse(String line, int lineNo, int row, GlueTask task, Layout layout) {
        String[] f = line.split("\t", -1);
        if (f.length != layout.columns()) {
            throw new IllegalArgumentException(f.length + " tab-separated fields, expected " + layout.columns());
        }
        String a = f[layout.textA()];
        String b = layout.textB() >= 0 ? f[layout.textB()] : null;
        if (a.isBlank() || (b != null && b.isBlank())) {
            throw new IllegalArgumentException("empty text");
        }
        int index = row;
        if (layout.indexColumn() >= 0) {
            try {
                index = Integer.parseInt(f[layout.indexColumn()].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("index '" + f[layout.indexColumn()] + "' is not an integer");
            }
        }
        double label = Double.NaN;
        if (layout.labeled()) {
            String raw = f[layout.labelColumn()].trim();
            if (task.isRegression()) {
                try {
                    label = Double.parseDouble(raw);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("score '" + raw + "' is not a number");
                }
                if (!(label >= 0 && label <= 5)) {
                    throw new IllegalArgumentException("score " + raw + " is outside [0, 5]");
                }
            } else {
                int idx = task.labelIndex(raw);
                if (idx < 0) {
                    throw new IllegalArgumentException("label '" + raw + "' is not one of " + task.labels());
                }
                label = idx;
            }
        }
        return new Example(index, a, b, label, lineNo);
    }
}
