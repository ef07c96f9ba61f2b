package org.distill4j.serve;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import org.distill4j.model.BertModel;
import org.distill4j.model.GradMode;
import org.distill4j.text.TokenBatch;
import org.distill4j.weights.Checkpoint;

/** distill4j's encoder on DJL's PyTorch engine, by its lean inference forward. */
final class DjlBackend implements EncoderBackend {

    private final NDManager manager;
    private final BertModel model;

    DjlBackend(Checkpoint checkpoint, boolean withHead, Device device) {
        this.manager = NDManager.newBaseManager(device);
        try {
            // The task head and its pooler only: a masked-LM head (BERT-base's) would be 23 M unused parameters.
            BertModel.Heads h = checkpoint.weights().heads();
            this.model = checkpoint.toModel(manager, withHead ? new BertModel.Heads(h.pooler(), false, h.taskOutputs())
                    : BertModel.Heads.NONE);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    @Override
    public float[] lastHidden(TokenBatch batch) {
        // Each call owns a scope of its own, so concurrent calls share only the read-only weights.
        // Callers' threads (the batcher, an application's pool) have autograd on: see GradMode.
        return GradMode.off(() -> {
            try (NDManager step = manager.newSubManager()) {
                return model.lastHidden(new ParameterStore(step, false), batch.toInput(step), false).toFloatArray();
            }
        });
    }

    @Override
    public float[] logits(TokenBatch batch) {
        return GradMode.off(() -> {
            try (NDManager step = manager.newSubManager()) {
                NDArray out = model.predict(new ParameterStore(step, false), batch.toInput(step));
                return out.toFloatArray();
            }
        });
    }

    @Override
    public int hiddenSize() {
        return model.config().hiddenSize();
    }

    @Override
    public int outputs() {
        return model.heads().taskOutputs();
    }

    @Override
    public Backend kind() {
        return Backend.DJL;
    }

    @Override
    public void close() {
        model.close();
        manager.close();
    }
}
