package org.distill4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.Map;
import org.distill4j.StopSignal;

/**
 * A BERT encoder with its optional heads: the pooler, the masked-LM head and a task head. It owns
 * the NDManager that holds every parameter; close it to free them. Parameters are named as in a
 * HuggingFace checkpoint: {@code embeddings.*}, {@code encoder.layer.N.*}, {@code pooler.*},
 * {@code cls.predictions.*}, {@code classifier.*}.
 */
public final class BertModel extends BertModule implements AutoCloseable {

    /**
     * Which heads a model carries.
     *
     * @param pooler the tanh pooler over [CLS]
     * @param maskedLm the masked-LM head (decoder tied to the word embeddings)
     * @param taskOutputs outputs of the task head, 0 for none, 1 for regression
     */
    public record Heads(boolean pooler, boolean maskedLm, int taskOutputs) {
        public static final Heads NONE = new Heads(false, false, 0);
    }

    private final BertConfig config;
    private final Heads heads;
    private final BertEncoder encoder;
    private final Pooler pooler;
    private final MaskedLmHead maskedLm;
    private final ClassifierHead classifier;
    private final NDManager manager;

    private BertModel(BertConfig config, Heads heads, NDManager manager) {
        this.config = config;
        this.heads = heads;
        this.manager = manager;
        encoder = child("", new BertEncoder(config));
        pooler = heads.pooler() ? child("pooler", new Pooler(config)) : null;
        maskedLm = heads.maskedLm()
                ? child("cls.predictions", new MaskedLmHead(config, encoder.embeddings().wordEmbeddings()))
                : null;
        classifier = heads.taskOutputs() > 0 ? child("classifier", new ClassifierHead(config, heads.taskOutputs()))
                : null;
    }

    /**
     * Creates a model with BERT's random initialisation (normal, σ = 0.02; LayerNorm 1 and 0).
     * The engine's random seed decides the values.
     *
     * @param parent the manager under which this model's own manager is created
     */
    public static BertModel create(BertConfig config, Heads heads, NDManager parent) {
        StopSignal.stopHereIfRequested(); // from here on this thread does native work a stop must wait for
        BertModel model = new BertModel(config, heads, parent.newSubManager());
        model.initializeNew();
        return model;
    }

    /**
     * Gives every parameter that has no value yet (all of them at creation, those of a module
     * {@link #attach}ed since) BERT's random initialisation, in this model's manager.
     */
    public void initializeNew() {
        for (Parameter p : namedParameters().values()) {
            if (!p.isInitialized()) {
                p.initialize(manager, DataType.FLOAT32);
            }
        }
    }

    /** The encoder's hidden states and attentions for a batch. */
    public EncoderOutput encode(ParameterStore ps, EncoderInput input, ForwardOptions options, boolean training) {
        return encoder.forward(ps, input, options, training);
    }

    public EncoderOutput encode(ParameterStore ps, EncoderInput input, boolean training) {
        return encoder.forward(ps, input, ForwardOptions.ALL, training);
    }

    /**
     * The last layer's hidden state alone, [batch, seq, hidden], with each layer's attentions and
     * states released as the forward goes: the lean forward for inference (see
     * {@link BertEncoder#lastHidden}).
     */
    public NDArray lastHidden(ParameterStore ps, EncoderInput input, boolean training) {
        return encoder.lastHidden(ps, input, training);
    }

    /** Task-head outputs for a batch, [batch, outputs], by the lean forward. */
    public NDArray predict(ParameterStore ps, EncoderInput input) {
        return predict(ps, input, ForwardOptions.ALL);
    }

    /** Task-head outputs of the part of the encoder {@code options} runs, by the lean forward. */
    public NDArray predict(ParameterStore ps, EncoderInput input, ForwardOptions options) {
        NDArray last = encoder.lastHidden(ps, input, options, false);
        NDArray cls = last.get(":, 0, :");
        NDArray sentence = pooler == null ? cls : pooler.forward(ps, cls, false);
        return classifierOrFail().forward(ps, sentence, false);
    }

    /** The sentence vector the task head reads: pooled [CLS] if there is a pooler, else [CLS]. */
    public NDArray sentence(ParameterStore ps, EncoderOutput out, boolean training) {
        NDArray cls = out.lastCls();
        return pooler == null ? cls : pooler.forward(ps, cls, training);
    }

    /** Task-head outputs, [batch, outputs]. */
    public NDArray classify(ParameterStore ps, EncoderOutput out, boolean training) {
        return classifierOrFail().forward(ps, sentence(ps, out, training), training);
    }

    private ClassifierHead classifierOrFail() {
        if (classifier == null) {
            throw new IllegalStateException("this model has no task head; create it with Heads.taskOutputs > 0");
        }
        return classifier;
    }

    /** Masked-LM vocabulary logits for hidden states [..., hidden]. */
    public NDArray maskedLmLogits(ParameterStore ps, NDArray hidden, boolean training) {
        if (maskedLm == null) {
            throw new IllegalStateException("this model has no masked-LM head (the checkpoint did not include one)");
        }
        return maskedLm.forward(ps, hidden, training);
    }

    public BertConfig config() {
        return config;
    }

    public Heads heads() {
        return heads;
    }

    public BertEncoder encoder() {
        return encoder;
    }

    /** The manager that owns this model's parameters. */
    public NDManager manager() {
        return manager;
    }

    /** Total number of scalar parameters (the tied decoder counted once). */
    public long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.getShape().size();
        }
        return n;
    }

    @Override
    public Map<String, Parameter> namedParameters() {
        return super.namedParameters();
    }

    @Override
    public void close() {
        manager.close();
    }
}
