package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distill4j.mapping.LayerMapping;
import org.distill4j.model.Dense;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * Mean squared error between student and teacher hidden states of mapped layers, summed over the
 * layer pairs (TinyBERT, Jiao et al. 2020, eq. 8: MSE(H^S W_h, H^T)). When the widths differ a
 * learned linear projection W_h, shared by all pairs, lifts the student's states to the
 * teacher's width; it is trained with the student and dropped afterwards. Padding positions are
 * left out of the mean: with dynamic padding they hold nothing the student should imitate.
 */
public final class HiddenMseLoss implements LossTerm {

    private final LayerMapping mapping;
    private final Dense projection;
    private final String name;
    private final boolean layersThatRan;

    /**
     * @param owner manager for the projection's parameters (when the widths differ)
     */
    public HiddenMseLoss(String name, LayerMapping mapping, int studentWidth, int teacherWidth, NDManager owner) {
        this(name, mapping, studentWidth, teacherWidth, owner, false);
    }

    /**
     * As above, the projection starting as a placement instead of at random: student dimension j goes
     * to teacher dimension {@code placement[j]}, for a student narrowed from the teacher's own weights
     * (whose dimension j is the teacher's {@code placement[j]}), so that the term starts from what
     * the narrowed student already shares with the teacher instead of a random map it must first undo.
     */
    public HiddenMseLoss(String name, LayerMapping mapping, int studentWidth, int teacherWidth, NDManager owner,
            int[] placement) {
        this(name, mapping, studentWidth, teacherWidth, owner, false);
        if (projection == null || placement == null) {
            return;
        }
        if (placement.length != studentWidth) {
            throw new IllegalArgumentException("placement has " + placement.length + " dimensions for a student of "
                    + studentWidth);
        }
        float[] w = new float[teacherWidth * studentWidth];
        for (int j = 0; j < studentWidth; j++) {
            if (placement[j] < 0 || placement[j] >= teacherWidth) {
                throw new IllegalArgumentException("placement[" + j + "] = " + placement[j] + " is not a teacher "
                        + "dimension (0.." + (teacherWidth - 1) + ")");
            }
            w[placement[j] * studentWidth + j] = 1f;
        }
        StateDict.assign(projection.weight().getArray(), new Tensor(new long[] {teacherWidth, studentWidth}, w));
    }

    /**
     * Starts the projection from one saved by an earlier run under this term's name (see
     * {@link #parameters()}): TinyBERT's task distillation carries W_e and W_h on from general
     * distillation rather than learning them again from random. Nothing changes, and false is
     * returned, when the term has no projection or {@code saved} holds none of this shape (a general
     * student distilled from a teacher of another width).
     */
    public boolean startFrom(StateDict saved) {
        if (projection == null || saved == null) {
            return false;
        }
        Tensor w = saved.tensors().get("projection." + name + ".weight");
        Tensor b = saved.tensors().get("projection." + name + ".bias");
        if (w == null || b == null
                || !Arrays.equals(w.shape(), projection.weight().getArray().getShape().getShape())
                || !Arrays.equals(b.shape(), projection.bias().getArray().getShape().getShape())) {
            return false;
        }
        StateDict.assign(projection.weight().getArray(), w);
        StateDict.assign(projection.bias().getArray(), b);
        return true;
    }

    /**
     * Student and teacher of one shape, each layer's state against the teacher's of the same number,
     * over the layers a sub-network ran (DynaBERT's depth: a layer dropped has no state to match).
     *
     * @param layers the layer numbers to match (0 = embeddings)
     */
    public static HiddenMseLoss sameLayers(String name, int[] layers) {
        return new HiddenMseLoss(name, LayerMapping.explicit(layers, layers), 1, 1, null, true);
    }

    private HiddenMseLoss(String name, LayerMapping mapping, int studentWidth, int teacherWidth, NDManager owner,
            boolean layersThatRan) {
        this.name = name;
        this.mapping = mapping;
        this.layersThatRan = layersThatRan;
        if (studentWidth != teacherWidth) {
            projection = new Dense(studentWidth, teacherWidth);
            projection.weight().initialize(owner, DataType.FLOAT32);
            projection.bias().initialize(owner, DataType.FLOAT32);
        } else {
            projection = null;
        }
    }

    /** @param student [batch, seq, width]; @param teacher [batch, seq, width]; @param mask [batch, seq] */
    public static NDArray of(NDArray student, NDArray teacher, NDArray mask) {
        NDArray m = TokenMask.perToken(mask);
        return TokenMask.maskedMean(student.sub(teacher).square(), m, teacher.getShape().get(2));
    }

    @Override
    public NDArray compute(StepContext s) {
        LayerMapping pairs = layersThatRan ? new LayerMapping(mapping.pairs().stream()
                .filter(p -> s.studentOut().has(p.student())).toList()) : mapping;
        return pairs.sum(p -> {
            NDArray hs = s.studentOut().hidden(p.student());
            if (projection != null) {
                hs = projection.forward(s.ps(), hs, true);
            }
            return of(hs, s.requireTeacher(name).hidden(p.teacher()), s.input().attentionMask());
        });
    }

    @Override
    public Map<String, Parameter> parameters() {
        if (projection == null) {
            return Map.of();
        }
        Map<String, Parameter> p = new LinkedHashMap<>();
        p.put("projection." + name + ".weight", projection.weight());
        p.put("projection." + name + ".bias", projection.bias());
        return p;
    }

    @Override
    public String name() {
        return name;
    }


    @Override
    public TeacherRequest teacherRequest() {
        return TeacherRequest.hiddenOf(mapping.teacherLayers());
    }
}
