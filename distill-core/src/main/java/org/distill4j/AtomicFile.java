package org.distill4j;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that a reader finds the old content or the whole new one, never a part: the
 * content goes to a temporary file beside the target, is forced to disk, and is renamed over the
 * target. A failure (a full disk, an exception of the writer) removes the temporary file and
 * leaves the target as it was. A crash may leave a temporary file, named after the target and the
 * writing process, which nothing reads.
 */
public final class AtomicFile {

    /** What writes the new content, to the temporary file it is given. */
    @FunctionalInterface
    public interface Body {
        void write(Path tmp) throws IOException;
    }

    private AtomicFile() {}

    /** Replaces {@code target} by what {@code body} writes, creating its directory if needed. */
    public static void write(Path target, Body body) throws IOException {
        Path file = target.toAbsolutePath();
        Files.createDirectories(file.getParent());
        // One temporary name per process: two processes writing the same target must not share one.
        Path tmp = file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            body.write(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true); // the rename must not reach the disk before the content does
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }
}
