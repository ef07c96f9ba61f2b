package org.distill4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distill4j.DistillException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicDirectoryTest {

    @TempDir
    Path tmp;

    @Test
    void aWriteReplacesTheDirectoryWhole() throws Exception {
        Path target = tmp.resolve("best");
        AtomicDirectory.write(target, d -> Files.writeString(d.resolve("a.txt"), "first"));
        AtomicDirectory.write(target, d -> Files.writeString(d.resolve("b.txt"), "second"));
        assertFalse(Files.exists(target.resolve("a.txt")), "the old directory's files stay behind");
        assertEquals("second", Files.readString(target.resolve("b.txt")));
        assertFalse(Files.exists(tmp.resolve("best.tmp")));
        assertFalse(Files.exists(tmp.resolve("best.old")));
    }

    @Test
    void aFailedWriteLeavesThePreviousDirectoryAndNoPartialOne() throws Exception {
        Path target = tmp.resolve("checkpoint");
        AtomicDirectory.write(target, d -> Files.writeString(d.resolve("state.json"), "{\"step\": 3}"));
        DistillException io = assertThrows(DistillException.class, () -> AtomicDirectory.write(target, d -> {
            Files.writeString(d.resolve("state.json"), "{\"st");
            throw new IOException("No space left on device");
        }));
        assertTrue(io.getMessage().contains(target.toString()) && io.getMessage().contains("No space left"),
                io.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicDirectory.write(target, d -> {
            throw new IllegalStateException("a bug while writing");
        }));
        assertEquals("{\"step\": 3}", Files.readString(target.resolve("state.json")));
        assertFalse(Files.exists(tmp.resolve("checkpoint.tmp")), "a partial directory was left behind");
    }
}
