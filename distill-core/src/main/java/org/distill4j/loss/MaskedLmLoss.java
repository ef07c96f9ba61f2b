package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.distill4j.model.EncoderInput;

/**
 * DistilBERT's masked-LM distillation term (Sanh et al. 2019, section 3): BERT's masking is
 * applied to the batch (15% of real tokens picked; of those 80% become [MASK], 10% a random
 * token, 10% stay), both models read the masked batch, and the student's masked-LM distribution
 * at the picked positions learns the teacher's: T²·KL(teacher ‖ student) at temperature T. It
 * needs masked-LM heads on both models (BERT-base has one; the ONNX builtins do not).
 */
public final class MaskedLmLoss implements LossTerm {

    /** BERT's masking rate (Devlin et al. 2019, section 3.1). */
    public static final double MASK_RATE = 0.15;

    private final float temperature;
    private final long maskId;
    private final long vocabSize;
    private final Set<Long> special;

    /**
     * @param maskId the tokenizer's [MASK] id
     * @param special ids never masked ([CLS], [SEP], [PAD])
     */
    public MaskedLmLoss(float temperature, long maskId, long vocabSize, Set<Long> special) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
        this.temperature = temperature;
        this.maskId = maskId;
        this.vocabSize = vocabSize;
        this.special = Set.copyOf(special);
    }

    /** A masked copy of the input ids and the flat positions picked, chosen with {@code random}. */
    record Masking(long[] ids, long[] positions) {}

    Masking mask(long[] ids, long[] attention, Random random) {
        long[] out = ids.clone();
        List<Long> picked = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            if (attention[i] == 0 || special.contains(ids[i]) || random.nextDouble() >= MASK_RATE) {
                continue;
            }
            picked.add((long) i);
            double r = random.nextDouble();
            if (r < 0.8) {
                out[i] = maskId;
            } else if (r < 0.9) {
                out[i] = random.nextInt((int) vocabSize);
            }
        }
        return new Masking(out, picked.stream().mapToLong(Long::longValue).toArray());
    }

    @Override
    public NDArray compute(StepContext s) {
        EncoderInput in = s.input();
        Shape shape = in.inputIds().getShape();
        Masking m = mask(in.inputIds().toLongArray(), in.attentionMask().toLongArray(), s.random());
        if (m.positions().length == 0) {
            return s.manager().create(0f);
        }
        EncoderInput masked = new EncoderInput(s.manager().create(m.ids(), shape), in.tokenTypeIds(),
                in.attentionMask());
        NDArray picked = s.manager().create(m.positions());
        long width = s.student().config().hiddenSize();
        NDArray hs = s.student().encode(s.ps(), masked, true).lastHidden().reshape(-1, width).get(picked);
        NDArray zs = s.student().maskedLmLogits(s.ps(), hs, true);
        NDArray zt = s.requireTeacher(name()).maskedLmLogits(masked, picked);
        return SoftTargetLoss.of(zs, zt, temperature, false);
    }

    @Override
    public String name() {
        return "mlm";
    }


    @Override
    public TeacherRequest teacherRequest() {
        return TeacherRequest.maskedLmLogits();
    }
}
