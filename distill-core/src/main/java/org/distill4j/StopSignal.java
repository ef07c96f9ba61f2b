package org.distill4j;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A clean stop when the process is asked to end (SIGTERM, SIGINT, Ctrl-C).
 *
 * <p>Why: after the JVM's shutdown hooks, the C library's {@code exit} destroys libtorch's static
 * objects while other threads keep running. A thread still inside libtorch then uses a destroyed
 * object: runs stopped with {@code kill} or {@code timeout} died with SIGSEGV in
 * {@code at::accelerator::getAccelerator} during a backward pass, and left an {@code hs_err} file.
 *
 * <p>How: a command's thread registers itself ({@link #install}). It counts as a worker from its
 * first safe point ({@link #stopHereIfRequested}: where a model is built, and at the start of every
 * encoder forward). Once a stop is requested, a worker that reaches a safe point stays there for
 * good, and the shutdown hook lets the JVM exit only when no worker is left (or after {@link #WAIT}).
 * The trainer finishes the update in progress and writes a checkpoint first ({@link #defer}), so a
 * stopped run resumes where it stopped. A registered thread that never built a model (a download,
 * the server's main thread once it only waits), and threads that never registered, are not waited
 * for.
 */
public final class StopSignal {

    /** How long the shutdown hook waits for the workers: an update and a checkpoint of a large model. */
    public static final Duration WAIT = Duration.ofSeconds(180);

    private static final AtomicBoolean INSTALLED = new AtomicBoolean();
    private static final Set<Thread> REGISTERED = ConcurrentHashMap.newKeySet();
    private static final Set<Thread> WORKERS = ConcurrentHashMap.newKeySet();
    private static final Object LOCK = new Object();
    private static final ThreadLocal<int[]> DEFERRED = ThreadLocal.withInitial(() -> new int[1]);
    private static volatile boolean requested;

    private StopSignal() {}

    /** Registers the calling thread, and the shutdown hook that waits for workers (once per JVM). */
    public static void install() {
        REGISTERED.add(Thread.currentThread());
        if (INSTALLED.compareAndSet(false, true)) {
            Runtime.getRuntime().addShutdownHook(new Thread(StopSignal::awaitWorkers, "distill4j-stop"));
        }
    }

    /** The calling thread is done with native work: the shutdown hook no longer waits for it. */
    public static void finished() {
        synchronized (LOCK) {
            REGISTERED.remove(Thread.currentThread());
            WORKERS.remove(Thread.currentThread());
            LOCK.notifyAll();
        }
    }

    /** Whether the process has been asked to stop and the calling thread is one the stop waits for. */
    public static boolean stopping() {
        return requested && REGISTERED.contains(Thread.currentThread());
    }

    /**
     * A safe point, before native work: a registered thread becomes a worker here; if a stop has
     * been requested and the thread is outside a {@link #defer} scope, it stops here and never
     * returns (the JVM ends around it).
     */
    public static void stopHereIfRequested() {
        Thread t = Thread.currentThread();
        if (!REGISTERED.contains(t)) {
            return;
        }
        // Counted before the flag is read: the hook sets the flag before it counts workers, so it
        // either waits for this thread or this thread sees the flag.
        WORKERS.add(t);
        if (!requested || DEFERRED.get()[0] > 0) {
            return;
        }
        finished();
        while (true) {
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                // keep still: returning would take the thread back into native code while the JVM exits
            }
        }
    }

    /** Safe points inside this scope do not stop the thread: the trainer finishes an update before it stops. */
    public static Deferral defer() {
        DEFERRED.get()[0]++;
        return new Deferral();
    }

    /** A {@link #defer} scope, on the thread that opened it; closing it ends the deferral. */
    public static final class Deferral implements AutoCloseable {
        private Deferral() {}

        @Override
        public void close() {
            DEFERRED.get()[0]--;
        }
    }

    private static void awaitWorkers() {
        requested = true;
        long deadline = System.nanoTime() + WAIT.toNanos();
        synchronized (LOCK) {
            WORKERS.removeIf(t -> !t.isAlive()); // a thread that died in an exception is not waited for
            if (!WORKERS.isEmpty()) {
                System.err.println("distill: asked to stop; finishing the step in progress (a training run writes a "
                        + "checkpoint first)");
            }
            while (!WORKERS.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    System.err.println("distill: still busy after " + WAIT.toSeconds() + " s; exiting anyway (a "
                            + "training run resumes from its last checkpoint)");
                    return;
                }
                try {
                    LOCK.wait(Math.max(1, Math.min(1000, left / 1_000_000)));
                } catch (InterruptedException e) {
                    return;
                }
                WORKERS.removeIf(t -> !t.isAlive());
            }
        }
    }
}
