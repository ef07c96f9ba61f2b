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

    /** Fills a fresh, empty directory with what the target is to hold. */
    @FunctionalInterface
    public interface Body {
        void write(Path dir) throws IOException;
    }

    private AtomicDirectory() {}

    /**
     * Writes {@code target} whole: {@code body} fills {@code NAME.tmp} beside it, which then
     * {@link #replace}s it. On any failure the partial directory is removed and the previous
     * {@code target}, if any, stays as it was.
     */
    public static void write(Path target, Body body) {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        delete(tmp);
        try {
            Files.createDirectories(tmp);
            body.write(tmp);
        } catch (IOException e) {
            deleteAfterFailure(tmp, e);
            throw new DistillException("Cannot write " + target + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            deleteAfterFailure(tmp, e);
            throw e;
        }
        replace(tmp, target);
    }

    private static void deleteAfterFailure(Path tmp, Throwable failure) {
        try {
            delete(tmp);
        } catch (RuntimeException cleanup) {
            failure.addSuppressed(cleanup);
        }
    }

    /**
     * Swaps a freshly written directory into place; the old one is removed only after the rename.
     * Two renames cannot be one atomic step: a crash between them leaves the old directory as
     * {@code NAME.old} and no {@code NAME}, which {@link #recover} puts back.
     */
    public static void replace(Path fresh, Path target) {
        Path old = oldOf(target);
        try {
            recover(target);
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

    /**
     * Finishes or undoes a {@link #replace} that a crash interrupted: a lone {@code NAME.old} (the
     * crash fell between the two renames) becomes {@code NAME} again. Call before reading a
     * directory that is written with {@link #replace}. Returns whether anything was put back.
     */
    public static boolean recover(Path target) {
        Path old = oldOf(target);
        if (Files.exists(target) || !Files.isDirectory(old)) {
            return false;
        }
        try {
            Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            System.err.printf("%s: a write was interrupted between its two renames; the previous %s is back%n",
                    target, target.getFileName());
            return true;
        } catch (IOException e) {
            throw new DistillException("Cannot move " + old + " back to " + target + ": " + e.getMessage(), e);
        }
    }

    /** {@link #recover} for every directory under {@code parent} that a crash left as {@code NAME.old} alone. */
    public static void recoverAll(Path parent) {
        if (!Files.isDirectory(parent)) {
            return;
        }
        try (Stream<Path> children = Files.list(parent)) {
            for (Path old : children.filter(p -> p.getFileName().toString().endsWith(".old")).toList()) {
                String name = old.getFileName().toString();
                recover(old.resolveSibling(name.substring(0, name.length() - ".old".length())));
            }
        } catch (IOException e) {
            throw new DistillException("Cannot list " + parent + ": " + e.getMessage(), e);
        }
    }

    private static Path oldOf(Path target) {
        return target.resolveSibling(target.getFileName() + ".old");
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
