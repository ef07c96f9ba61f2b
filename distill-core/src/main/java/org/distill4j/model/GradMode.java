package org.distill4j.model;

import ai.djl.pytorch.jni.JniUtils;
import java.util.function.Supplier;

/**
 * Runs work with PyTorch's autograd recording off on the calling thread. PyTorch keeps grad mode
 * per thread, on by default, and DJL turns it off only on the thread that loads the engine. On any
 * other thread (a server's batcher, an application's worker pool) a forward would record an
 * autograd graph it never uses, and writing weights into a parameter in place fails with "a leaf
 * Variable that requires grad is being used in an in-place operation".
 */
public final class GradMode {

    private GradMode() {}

    /** {@code work}'s result, computed with grad mode off; the thread's mode is restored after. */
    public static <T> T off(Supplier<T> work) {
        boolean was = JniUtils.isGradMode();
        if (was) {
            JniUtils.setGradMode(false);
        }
        try {
            return work.get();
        } finally {
            if (was) {
                JniUtils.setGradMode(true);
            }
        }
    }

    /** {@code work} run with grad mode off; the thread's mode is restored after. */
    public static void off(Runnable work) {
        off(() -> {
            work.run();
            return null;
        });
    }
}
