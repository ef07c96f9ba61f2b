package org.distill4j.glue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.distill4j.AtomicFile;
import org.distill4j.DistillException;

/**
 * Fetches GLUE tasks into the standard layout ({@code DIR/TASK/train.tsv} ...), as the original
 * {@code download_glue_data.py} does: a zip archive per task, the AX diagnostic as one file, and
 * MRPC rebuilt from the SentEval copy of the Microsoft corpus with GLUE's dev ids. Every archive is
 * checked (HTTP status, zip integrity, no path escaping the target, the task's files present) and
 * every file read back with {@link GlueReader} before the task counts as downloaded.
 */
public final class GlueDownloader {

    /** Where the official files live; a mirror replaces this prefix. */
    public static final String OFFICIAL = "https://dl.fbaipublicfiles.com";

    private static final Map<GlueTask, String> ARCHIVES = Map.of(
            GlueTask.COLA, "/glue/data/CoLA.zip",
            GlueTask.SST2, "/glue/data/SST-2.zip",
            GlueTask.QQP, "/glue/data/QQP-clean.zip",
            GlueTask.STSB, "/glue/data/STS-B.zip",
            GlueTask.MNLI, "/glue/data/MNLI.zip",
            GlueTask.QNLI, "/glue/data/QNLIv2.zip",
            GlueTask.RTE, "/glue/data/RTE.zip",
            GlueTask.WNLI, "/glue/data/WNLI.zip");
    static final String AX = "/glue/data/AX.tsv";
    static final String MRPC_TRAIN = "/senteval/senteval_data/msr_paraphrase_train.txt";
    static final String MRPC_TEST = "/senteval/senteval_data/msr_paraphrase_test.txt";
    static final String MRPC_DEV_IDS = "/glue/data/mrpc_dev_ids.tsv";

    private final String base;
    private final Map<String, String> overrides;
    private final HttpClient http;

    /**
     * @param base the prefix that replaces {@link #OFFICIAL} (a mirror), or null for the official one
     * @param overrides full URLs that replace individual files, keyed by task name or {@code AX}
     *     (for MRPC: {@code MRPC_TRAIN}, {@code MRPC_TEST}, {@code MRPC_DEV_IDS})
     */
    public GlueDownloader(String base, Map<String, String> overrides) {
        this.base = base == null ? OFFICIAL : base.replaceAll("/+$", "");
        this.overrides = Map.copyOf(overrides);
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(30)).build();
    }

    /** What one task's download produced: file name to data rows. */
    public record Report(GlueTask task, Map<String, Integer> rows) {}

    public List<Report> download(List<GlueTask> tasks, Path dir) {
        List<Report> out = new ArrayList<>();
        for (GlueTask t : tasks) {
            if (t == GlueTask.MRPC) {
                downloadMrpc(dir);
            } else {
                unzip(fetch(url(t.dirName(), ARCHIVES.get(t))), dir, t);
            }
            if (t == GlueTask.MNLI) {
                Path ax = fetch(url("AX", AX));
                move(ax, dir.resolve("diagnostic/diagnostic.tsv"));
            }
            out.add(verify(t, dir));
        }
        return out;
    }

    private String url(String key, String path) {
        return overrides.getOrDefault(key, base + path);
    }

    /** Downloads to a temporary file, failing with the URL and status on anything but 200. */
    Path fetch(String url) {
        System.err.println("downloading " + url);
        try {
            Path tmp = Files.createTempFile("glue", ".part");
            HttpResponse<Path> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(30))
                    .GET().build(), HttpResponse.BodyHandlers.ofFile(tmp));
            if (r.statusCode() != 200) {
                Files.deleteIfExists(tmp);
                throw new DistillException("GET " + url + " answered HTTP " + r.statusCode()
                        + "; pass --mirror or --url to fetch from elsewhere");
            }
            return tmp;
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            throw new DistillException("Cannot download " + url + ": " + why
                    + " (no network? copy the files into the GLUE layout by hand, or use --mirror)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistillException("Interrupted while downloading " + url, e);
        }
    }

    /** Unpacks an archive into dir; entries must stay inside dir and include the task's files. */
    void unzip(Path archive, Path dir, GlueTask task) {
        Set<String> names = new HashSet<>();
        Path root = dir.toAbsolutePath().normalize();
        try (ZipInputStream zin = new ZipInputStream(Files.newInputStream(archive))) {
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                Path target = root.resolve(e.getName()).normalize();
                if (!target.startsWith(root)) {
                    throw new DistillException("archive for " + task + " has an entry outside the target directory: "
                            + e.getName());
                }
                if (e.isDirectory() || e.getName().startsWith("__MACOSX")) {
                    continue;
                }
                AtomicFile.write(target, part -> {
                    try (OutputStream out = Files.newOutputStream(part)) {
                        zin.transferTo(out); // ZipInputStream checks each entry's CRC as it reads
                    }
                });
                names.add(e.getName());
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new DistillException("The archive for " + task + " is damaged or not a zip file: " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(archive);
            } catch (IOException ignored) {
                // a temp file; the OS cleans it up
            }
        }
        if (names.isEmpty()) {
            throw new DistillException("The archive for " + task + " is empty or not a zip file");
        }
    }

    /**
     * MRPC is not redistributed by GLUE: its train/dev/test files are rebuilt from the Microsoft
     * corpus exactly as {@code download_glue_data.py} does (train rows whose id pair is in GLUE's dev
     * list go to dev.tsv; test rows are numbered from 0).
     */
    private void downloadMrpc(Path dir) {
        Path mrpc = dir.resolve("MRPC");
        try {
            Files.createDirectories(mrpc);
            move(fetch(url("MRPC_TRAIN", MRPC_TRAIN)), mrpc.resolve("msr_paraphrase_train.txt"));
            move(fetch(url("MRPC_TEST", MRPC_TEST)), mrpc.resolve("msr_paraphrase_test.txt"));
            move(fetch(url("MRPC_DEV_IDS", MRPC_DEV_IDS)), mrpc.resolve("dev_ids.tsv"));
            formatMrpc(mrpc);
        } catch (IOException e) {
            throw new DistillException("Cannot build MRPC in " + mrpc + ": " + e.getMessage(), e);
        }
    }

    static void formatMrpc(Path mrpc) throws IOException {
        Set<String> devIds = new HashSet<>();
        for (String line : Files.readAllLines(mrpc.resolve("dev_ids.tsv"), StandardCharsets.UTF_8)) {
            String[] f = line.strip().split("\t");
            if (f.length == 2) {
                devIds.add(f[0] + "\t" + f[1]);
            }
        }
        List<String> train = Files.readAllLines(mrpc.resolve("msr_paraphrase_train.txt"), StandardCharsets.UTF_8);
        StringBuilder tr = new StringBuilder(train.get(0)).append('\n');
        StringBuilder dev = new StringBuilder(train.get(0)).append('\n');
        for (String row : train.subList(1, train.size())) {
            String[] f = row.strip().split("\t");
            if (f.length != 5) {
                continue;
            }
            String line = String.join("\t", f) + "\n";
            (devIds.contains(f[1] + "\t" + f[2]) ? dev : tr).append(line);
        }
        List<String> test = Files.readAllLines(mrpc.resolve("msr_paraphrase_test.txt"), StandardCharsets.UTF_8);
        StringBuilder te = new StringBuilder("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n");
        int idx = 0;
        for (String row : test.subList(1, test.size())) {
            String[] f = row.strip().split("\t");
            if (f.length != 5) {
                continue;
            }
            te.append(idx++).append('\t').append(f[1]).append('\t').append(f[2]).append('\t').append(f[3]).append('\t')
                    .append(f[4]).append('\n');
        }
        Files.writeString(mrpc.resolve("train.tsv"), tr, StandardCharsets.UTF_8);
        Files.writeString(mrpc.resolve("dev.tsv"), dev, StandardCharsets.UTF_8);
        Files.writeString(mrpc.resolve("test.tsv"), te, StandardCharsets.UTF_8);
    }

    /** Reads every file of the task back; a task whose files are missing or malformed is an error. */
    private static Report verify(GlueTask task, Path dir) {
        Map<String, Integer> rows = new LinkedHashMap<>();
        for (Split s : task.splits()) {
            if (s.name().equals("ax")) {
                continue;
            }
            if (!Files.isRegularFile(dir.resolve(s.file()))) {
                throw new DistillException("The download of " + task + " did not produce " + s.file() + " in " + dir
                        + "; the archive does not follow the GLUE layout");
            }
            // QQP's official train file has a few broken rows; they are skipped, as every reader must.
            Dataset d = GlueReader.read(dir, task, s, task == GlueTask.QQP);
            if (d.size() == 0) {
                throw new DistillException("The download of " + task + " produced " + s.file() + " with no rows");
            }
            rows.put(s.file(), d.size());
        }
        if (task == GlueTask.MNLI) {
            rows.put(task.split("ax").file(), GlueReader.read(dir, task, task.split("ax"), false).size());
        }
        return new Report(task, rows);
    }

    private static void move(Path from, Path to) {
        try {
            Files.createDirectories(to.toAbsolutePath().getParent());
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new DistillException("Cannot move download to " + to + ": " + e.getMessage(), e);
        }
    }
}
