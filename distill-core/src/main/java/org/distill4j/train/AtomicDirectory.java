package org.distill4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;
import org.distill4j.DistillException;

/**
 * Directories written whole or not at all: a checkpoint or model directory is written beside its
 * target and renamed into place, so a crash leaves either the old one or the new one, never half.
 */
public final class AtomicDirectory {

    private AtomicDirectory() {}

    /** Swaps a freshly written directory into place; the old one is removed only after the rename. */
    public static void replace(Path fresh, Path target) {
        Path old = target.resolveSibling(target.getFileName() + ".old");
        try {
            delete(old);
            if (Files.exists(target)) {
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
            delete(old);
        } catch (IOException e) {
            throw new DistillException("Cannot move " + fresh + " to " + target + ": " + e.getMessage(), e);
        }
    }

    /** Deletes a directory tree, if it exists. */
    public static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        } catch (IOException e) {
            throw new DistillException("Cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }
}
