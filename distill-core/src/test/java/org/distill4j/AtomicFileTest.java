package org.distill4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file is replaced whole or not at all, and no temporary file outlives a write. */
class AtomicFileTest {

    @TempDir
    Path tmp;

    private List<Path> files() throws IOException {
        try (var s = Files.walk(tmp)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    @Test
    void writesIntoNewDirectoriesAndReplacesWhatWasThere() throws IOException {
        Path target = tmp.resolve("a/b/out.txt");
        AtomicFile.write(target, t -> Files.writeString(t, "first"));
        AtomicFile.write(target, t -> Files.writeString(t, "second"));
        assertEquals("second", Files.readString(target));
        assertEquals(List.of(target), files());
    }

    @Test
    void aFailedWriteLeavesTheTargetAndNoTemporaryFile() throws IOException {
        Path target = tmp.resolve("out.txt");
        Files.writeString(target, "old");
        IOException full = new IOException("No space left on device");
        assertSame(full, assertThrows(IOException.class, () -> AtomicFile.write(target, t -> {
            Files.writeString(t, "half of the new");
            throw full;
        })));
        IllegalStateException bug = new IllegalStateException("writer bug");
        assertSame(bug, assertThrows(IllegalStateException.class, () -> AtomicFile.write(target, t -> {
            Files.writeString(t, "half of the new");
            throw bug;
        })));
        assertEquals("old", Files.readString(target));
        assertEquals(List.of(target), files());
        assertFalse(Files.exists(tmp.resolve("out.txt." + ProcessHandle.current().pid() + ".tmp")));
    }
}
