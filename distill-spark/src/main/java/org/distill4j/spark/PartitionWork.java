package org.distill4j.spark;

import ai.djl.ndarray.NDManager;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;
import org.distill4j.weights.Checkpoint;

/**
 * A partition's work done one element at a time: the resource (a model) is opened when the first
 * element is asked for and closed when the last has been handed on, or when the task ends
 * otherwise (a failure, a kill). Nothing of the partition is held at once but one element's
 * output, so a partition may be far larger than the executor's memory.
 */
final class PartitionWork {

    /** Opens what a partition's work needs, once per partition. */
    @FunctionalInterface
    interface Opener<R extends AutoCloseable> {
        R open() throws Exception;
    }

    /** One element's outputs. */
    @FunctionalInterface
    interface Step<R, T, U> {
        List<U> apply(R resource, T element) throws Exception;
    }

    /** A model, its tokenizer and the memory they live in, built from an executor's shared checkpoint. */
    record Model(NDManager manager, BertModel bert, BertTokenizer tokenizer) implements AutoCloseable {

        static Model open(String spec, int maxLength) {
            Checkpoint ckpt = ExecutorModels.checkpoint(spec);
            NDManager m = NDManager.newBaseManager();
            try {
                BertModel bert = ckpt.toModel(m);
                return new Model(m, bert, ckpt.tokenizer(maxLength));
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }

        @Override
        public void close() {
            try (manager; bert; tokenizer) {
                // closes the tokenizer, the model and their memory
            }
        }
    }

    private PartitionWork() {}

    /** The outputs of {@code step} over {@code input}, in order, computed as they are consumed. */
    static <R extends AutoCloseable, T, U> Iterator<U> map(Iterator<T> input, Opener<R> opener, Step<R, T, U> step) {
        return new Iterator<>() {
            private final ArrayDeque<U> ready = new ArrayDeque<>();
            private R resource;
            private boolean closed;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && input.hasNext()) {
                    try {
                        if (resource == null) {
                            resource = opener.open();
                            TaskContext task = TaskContext.get();
                            if (task != null) {
                                task.addTaskCompletionListener((TaskCompletionListener) t -> close());
                            }
                        }
                        ready.addAll(step.apply(resource, input.next()));
                    } catch (RuntimeException e) {
                        close();
                        throw e;
                    } catch (Exception e) {
                        close();
                        throw new IllegalStateException(e.getMessage(), e);
                    }
                }
                if (ready.isEmpty()) {
                    close();
                    return false;
                }
                return true;
            }

            @Override
            public U next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }

            private void close() {
                if (resource != null && !closed) {
                    closed = true;
                    try {
                        resource.close();
                    } catch (Exception e) {
                        throw new IllegalStateException("closing a partition's model: " + e.getMessage(), e);
                    }
                }
            }
        };
    }
}
