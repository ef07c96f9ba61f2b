package org.distill4j.recipe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.distill4j.DistillException;
import org.distill4j.glue.GlueTraining;
import org.distill4j.model.BertConfig;
import org.distill4j.prune.Narrowing;
import org.distill4j.train.Stage;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.Safetensors;
import org.distill4j.weights.StateDict;
import org.distill4j.weights.Tensor;

/**
 * How a student's weights start: a subset of a model's layers, a whole model, a new random shape, or
 * a model's layers narrowed to a shape.
 */
final class StudentInit {

    private StudentInit() {}

    /**
     * The student's starting weights: chosen layers of {@code init}, all of it, those layers narrowed
     * to {@code student.shape} (when the shape comes with {@code student.init} or {@code student.layers}),
     * or null for a new random shape.
     */
    static Checkpoint of(RecipeConfig.Student student, Checkpoint init) {
        RecipeConfig.Shape s = student.shape();
        if (s != null && student.init() == null && student.layers() == null) {
            return null;
        }
        if (s != null) {
            List<Integer> layers = student.layers() != null ? student.layers()
                    : uniformLayers(s.layers(), init.config().numHiddenLayers());
            return Narrowing.cut(init, layers, s.hidden(), s.heads(), s.intermediate());
        }
        return student.layers() != null ? fromLayers(init, student.layers()) : init;
    }

    /**
     * For a student narrowed from {@code init} (see {@link #of}) whose teacher has init's width, the
     * init dimension each student dimension was taken from; else null.
     */
    static int[] placement(RecipeConfig.Student student, Checkpoint init, Checkpoint teacher) {
        boolean narrowed = student.shape() != null && (student.init() != null || student.layers() != null);
        if (!narrowed || init == null || teacher == null
                || init.config().hiddenSize() != teacher.config().hiddenSize()) {
            return null;
        }
        return Narrowing.hiddenDims(init, student.shape().hidden());
    }

    /**
     * The learned projections W_e and W_h saved beside a general TinyBERT student
     * ({@link GlueTraining#PROJECTIONS_FILE}) when the student starts from that whole directory, as the
     * reference's task distillation carries them on; else null. A term takes them only when their
     * shape is its own (the same student and teacher widths).
     */
    static StateDict projections(RecipeConfig.Student student) {
        if (student.init() == null || student.shape() != null || student.layers() != null) {
            return null;
        }
        Path file = Path.of(student.init()).resolve(GlueTraining.PROJECTIONS_FILE);
        return Files.isRegularFile(file) ? Safetensors.read(file) : null;
    }

    /** The parameters of the stages' loss terms (TinyBERT's projections), or null when they have none. */
    static StateDict termParameters(List<Stage> stages) {
        StateDict d = new StateDict("loss terms");
        stages.stream().flatMap(st -> st.terms().stream()).forEach(w -> w.term().parameters()
                .forEach((k, p) -> d.put(k, Tensor.of(p.getArray()))));
        return d.tensors().isEmpty() ? null : d;
    }

    /** TinyBERT's uniform mapping: student layer m takes the source's layer m·N/M (1-based). */
    static List<Integer> uniformLayers(int studentLayers, int sourceLayers) {
        return IntStream.rangeClosed(1, studentLayers).map(m -> m * sourceLayers / studentLayers).boxed().toList();
    }

    /** Refuses a student that would read token ids the teacher does not: they must share a vocabulary. */
    static void checkVocabulary(Checkpoint student, Checkpoint teacher) {
        if (student.config().vocabSize() != teacher.config().vocabSize()) {
            throw new DistillException("student.init " + student.name() + " has a vocabulary of "
                    + student.config().vocabSize() + " tokens and the teacher " + teacher.name() + " one of "
                    + teacher.config().vocabSize() + ": student and teacher must read the same token ids");
        }
    }

    /**
     * What a new-shape student's model directory takes from elsewhere: the tokenizer only (no head
     * tensors of a model of another width).
     */
    static Checkpoint tokenizerOnly(Checkpoint vocabulary, org.distill4j.model.BertModel student) {
        return new Checkpoint(vocabulary.name(), student.config(), new StateDict(vocabulary.name()),
                vocabulary.tokenizerJson());
    }

    /**
     * The embeddings, the chosen layers (1-based, renumbered 0..k−1 in order), and the heads of
     * {@code source}: DistilBERT's "every other layer" and PKD's "first k layers" alike.
     */
    static Checkpoint fromLayers(Checkpoint source, List<Integer> layers) {
        int n = source.config().numHiddenLayers();
        if (layers.stream().distinct().count() != layers.size()) {
            throw new DistillException("student.layers " + layers + " names a layer twice");
        }
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i) > n) {
                throw new DistillException("student.layers[" + i + "] is " + layers.get(i) + " but " + source.name()
                        + " has layers 1 to " + n);
            }
        }
        StateDict out = new StateDict(source.name() + " layers " + layers);
        for (Map.Entry<String, Tensor> e : source.weights().tensors().entrySet()) {
            String name = e.getKey();
            if (!name.startsWith("encoder.layer.")) {
                out.put(name, e.getValue());
                continue;
            }
            int from = Integer.parseInt(name.substring("encoder.layer.".length(), name.indexOf('.', 14)));
            int to = layers.indexOf(from + 1);
            if (to >= 0) {
                out.put("encoder.layer." + to + name.substring(name.indexOf('.', 14)), e.getValue());
            }
        }
        BertConfig config = source.config().withLayers(layers.size());
        return new Checkpoint(source.name() + " layers " + layers, config, out, source.tokenizerJson());
    }

    /** A randomly initialised shape with the teacher's vocabulary and position range. */
    static BertConfig shape(BertConfig teacher, RecipeConfig.Shape s) {
        return new BertConfig(teacher.vocabSize(), s.hidden(), s.layers(), s.heads(), s.intermediate(), "gelu",
                teacher.maxPositionEmbeddings(), teacher.typeVocabSize(), teacher.layerNormEps(),
                teacher.hiddenDropoutProb(), teacher.attentionProbsDropoutProb());
    }
}
