package org.distill4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PyTorch engine must start from the Maven native jar alone: a fresh JVM with an empty DJL
 * cache directory and offline mode on (where DJL refuses any download) boots it and computes.
 */
class OfflineEngineTest {

    @TempDir
    Path cache;

    @Test
    void engineStartsWithEmptyCacheFromMavenNativesWithoutDownload() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", "-DDJL_CACHE_DIR=" + cache, EngineProbe.class.getName()));
        pb.environment().remove("ENGINE_CACHE_DIR");
        pb.environment().remove("PYTORCH_LIBRARY_PATH");
        pb.environment().remove("PYTORCH_VERSION");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "engine probe did not finish:\n" + log);
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("engine=PyTorch version=2.7.1 sum=6.0"), log);
        assertTrue(log.contains("Found matching platform from: jar:") && log.contains("pytorch-native-cpu-2.7.1"),
                "natives should come from the pytorch-native-cpu jar:\n" + log);
        assertTrue(!log.contains("Downloading"), log);
        try (Stream<Path> files = Files.walk(cache)) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().equals("libtorch_cpu.so")),
                    "natives should have been unpacked into the empty cache " + cache);
        }
    }
}
