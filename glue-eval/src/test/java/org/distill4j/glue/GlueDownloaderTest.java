package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.distill4j.DistillException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against a server on the loopback interface; nothing leaves the machine. */
class GlueDownloaderTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    HttpServer server;
    final Map<String, byte[]> files = new HashMap<>();
    String base;

    @BeforeEach
    void serve() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = files.get(exchange.getRequestURI().getPath());
            if (body == null) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
            exchange.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    @Test
    void downloadsUnpacksAndChecksATaskArchive() throws Exception {
        files.put("/glue/data/RTE.zip", zip(Map.of(
                "RTE/train.tsv", Files.readAllBytes(GLUE.resolve("RTE/train.tsv")),
                "RTE/dev.tsv", Files.readAllBytes(GLUE.resolve("RTE/dev.tsv")),
                "RTE/test.tsv", Files.readAllBytes(GLUE.resolve("RTE/test.tsv")))));
        Path dir = tmp.resolve("glue");
        List<GlueDownloader.Report> r = new GlueDownloader(base, Map.of()).download(List.of(GlueTask.RTE), dir);
        assertEquals(Map.of("RTE/train.tsv", 2490, "RTE/dev.tsv", 277, "RTE/test.tsv", 3000), r.get(0).rows());
        assertArrayEquals(Files.readAllBytes(GLUE.resolve("RTE/dev.tsv")), Files.readAllBytes(dir.resolve("RTE/dev.tsv")));
    }

    @Test
    void rebuildsMrpcByteForByteAsTheGlueScriptDoes() throws Exception {
        files.put(GlueDownloader.MRPC_TRAIN, Files.readAllBytes(GLUE.resolve("MRPC/msr_paraphrase_train.txt")));
        files.put(GlueDownloader.MRPC_TEST, Files.readAllBytes(GLUE.resolve("MRPC/msr_paraphrase_test.txt")));
        files.put(GlueDownloader.MRPC_DEV_IDS, Files.readAllBytes(GLUE.resolve("MRPC/dev_ids.tsv")));
        Path dir = tmp.resolve("glue");
        List<GlueDownloader.Report> r = new GlueDownloader(base, Map.of()).download(List.of(GlueTask.MRPC), dir);
        assertEquals(3668, r.get(0).rows().get("MRPC/train.tsv"));
        for (String f : List.of("train.tsv", "dev.tsv", "test.tsv")) {
            assertArrayEquals(Files.readAllBytes(GLUE.resolve("MRPC").resolve(f)),
                    Files.readAllBytes(dir.resolve("MRPC").resolve(f)), f);
        }
    }

    @Test
    void perFileUrlOverridesReplaceTheDefaults() throws Exception {
        files.put("/elsewhere/wnli.zip", zip(Map.of(
                "WNLI/train.tsv", Files.readAllBytes(GLUE.resolve("WNLI/train.tsv")),
                "WNLI/dev.tsv", Files.readAllBytes(GLUE.resolve("WNLI/dev.tsv")),
                "WNLI/test.tsv", Files.readAllBytes(GLUE.resolve("WNLI/test.tsv")))));
        Path dir = tmp.resolve("glue");
        new GlueDownloader("http://127.0.0.1:9", Map.of("WNLI", base + "/elsewhere/wnli.zip"))
                .download(List.of(GlueTask.WNLI), dir);
        assertTrue(Files.isRegularFile(dir.resolve("WNLI/dev.tsv")));
    }

    @Test
    void missingDamagedAndEscapingArchivesAreRefused() throws Exception {
        GlueDownloader d = new GlueDownloader(base, Map.of());
        DistillException notFound = assertThrows(DistillException.class,
                () -> d.download(List.of(GlueTask.COLA), tmp.resolve("a")));
        assertTrue(notFound.getMessage().contains(base + "/glue/data/CoLA.zip answered HTTP 404"),
                notFound.getMessage());

        files.put("/glue/data/SST-2.zip", "this is not a zip archive".getBytes());
        DistillException damaged = assertThrows(DistillException.class,
                () -> d.download(List.of(GlueTask.SST2), tmp.resolve("b")));
        assertTrue(damaged.getMessage().contains("SST-2"), damaged.getMessage());

        files.put("/glue/data/WNLI.zip", zip(Map.of("../../evil.txt", "x".getBytes())));
        DistillException escaping = assertThrows(DistillException.class,
                () -> d.download(List.of(GlueTask.WNLI), tmp.resolve("c/glue")));
        assertTrue(escaping.getMessage().contains("outside the target directory"), escaping.getMessage());
        assertFalse(Files.exists(tmp.resolve("evil.txt")));

        files.put("/glue/data/STS-B.zip", zip(Map.of("STS-B/train.tsv", "header\n1\tbroken\n".getBytes())));
        DistillException malformed = assertThrows(DistillException.class,
                () -> d.download(List.of(GlueTask.STSB), tmp.resolve("d")));
        assertTrue(malformed.getMessage().contains("STS-B/train.tsv:2: 2 tab-separated fields"), malformed.getMessage());

        files.put("/glue/data/STS-B.zip", zip(Map.of("STS-B/train.tsv", Files.readAllBytes(GLUE.resolve("STS-B/train.tsv")))));
        DistillException incomplete = assertThrows(DistillException.class,
                () -> d.download(List.of(GlueTask.STSB), tmp.resolve("e")));
        assertTrue(incomplete.getMessage().contains("did not produce STS-B/dev.tsv"), incomplete.getMessage());
    }
}
