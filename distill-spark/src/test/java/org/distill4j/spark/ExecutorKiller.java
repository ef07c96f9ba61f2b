package org.distill4j.spark;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.ExecutorLostFailure;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;

/**
 * Kills the executor JVM of the first task to start on a {@link LocalSpark#cluster} (SIGKILL, as
 * the kernel's out-of-memory killer or a lost node would), and records what Spark made of it.
 */
final class ExecutorKiller extends SparkListener {

    private final AtomicReference<String> killed = new AtomicReference<>();
    private final List<String> removed = new CopyOnWriteArrayList<>();
    private final List<String> lostTasks = new CopyOnWriteArrayList<>();

    /** Listens on {@code sc} from now on. */
    static ExecutorKiller on(JavaSparkContext sc) {
        ExecutorKiller k = new ExecutorKiller();
        sc.sc().addSparkListener(k);
        return k;
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart start) {
        String id = start.taskInfo().executorId();
        if (killed.compareAndSet(null, id)) {
            Optional<ProcessHandle> jvm = LocalSpark.executorProcess(id);
            jvm.ifPresentOrElse(ProcessHandle::destroyForcibly, () -> killed.set("not found: " + id));
        }
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved event) {
        removed.add(event.executorId());
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.reason() instanceof ExecutorLostFailure) {
            lostTasks.add(end.taskInfo().executorId());
        }
    }

    /** Asserts that an executor was killed with a task on it, and that Spark saw both losses. */
    void assertKilledMidTask() {
        String id = killed.get();
        assertNotNull(id, "no task started");
        assertTrue(!id.startsWith("not found"), "the executor's process was " + id);
        assertTrue(removed.contains(id), "executor " + id + " was never reported lost: " + removed);
        assertTrue(lostTasks.contains(id), "no task failed with executor " + id + ": " + lostTasks);
    }
}
