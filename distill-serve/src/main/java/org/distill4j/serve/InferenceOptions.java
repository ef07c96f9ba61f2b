package org.distill4j.serve;

import org.distill4j.train.DeviceChoice;

/**
 * How a model runs, shared by {@link TextEmbedder} and {@link TextClassifier}.
 *
 * @param backend the engine
 * @param maxLength tokens per text (or pair), special tokens included; 0 takes the length the model
 *     was trained at ({@code distill.json}), else 512 or the model's position limit if smaller
 * @param batchSize texts per forward pass; a call with more texts runs several batches, shortest
 *     texts together
 * @param truncate cut texts longer than {@code maxLength} (the default) and report it on each
 *     result; false rejects them with {@link InputTooLongException}
 * @param threads intra-op threads for the ONNX Runtime backend (0: one per core); the DJL backend
 *     uses PyTorch's own setting
 * @param device where the DJL backend computes (AUTO: the GPU if PyTorch sees one); ONNX Runtime
 *     runs on the CPU
 */
public record InferenceOptions(Backend backend, int maxLength, int batchSize, boolean truncate, int threads,
        DeviceChoice device) {

    public InferenceOptions {
        if (backend == null) {
            throw new IllegalArgumentException("backend must be set (djl or onnx)");
        }
        if (maxLength != 0 && maxLength < 3) {
            throw new IllegalArgumentException("maxLength must be 0 (the model's) or at least 3, got " + maxLength);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        if (device == null) {
            throw new IllegalArgumentException("device must be set (cpu, gpu or auto)");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (one per core) or more, got " + threads);
        }
    }

    /** DJL on the GPU if there is one, the model's length, batches of 32, truncating. */
    public static InferenceOptions defaults() {
        return new InferenceOptions(Backend.DJL, 0, 32, true, 0, DeviceChoice.AUTO);
    }

    public InferenceOptions withBackend(Backend b) {
        return new InferenceOptions(b, maxLength, batchSize, truncate, threads, device);
    }

    public InferenceOptions withMaxLength(int n) {
        return new InferenceOptions(backend, n, batchSize, truncate, threads, device);
    }

    public InferenceOptions withBatchSize(int n) {
        return new InferenceOptions(backend, maxLength, n, truncate, threads, device);
    }

    public InferenceOptions withTruncate(boolean t) {
        return new InferenceOptions(backend, maxLength, batchSize, t, threads, device);
    }

    public InferenceOptions withThreads(int n) {
        return new InferenceOptions(backend, maxLength, batchSize, truncate, n, device);
    }

    public InferenceOptions withDevice(DeviceChoice d) {
        return new InferenceOptions(backend, maxLength, batchSize, truncate, threads, d);
    }
}
