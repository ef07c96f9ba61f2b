package org.distill4j.mapping;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.distill4j.DistillException;

/**
 * Which teacher layer each student layer learns from. Layers are numbered as in
 * {@code EncoderOutput.hiddenStates}: 0 is the embedding output, 1..L the transformer layers.
 *
 * @param pairs (student layer, teacher layer) pairs, in student order
 */
public record LayerMapping(List<Pair> pairs) {

    /** One student layer matched to one teacher layer. */
    public record Pair(int student, int teacher) {
        @Override
        public String toString() {
            return student + "->" + teacher;
        }
    }

    public LayerMapping {
        pairs = List.copyOf(pairs);
        if (pairs.isEmpty()) {
            throw new DistillException("a layer mapping needs at least one pair of layers");
        }
    }

    /**
     * Uniform, or PKD-skip: student layer m learns from teacher layer m·N/M, for m = 1..M
     * (Sun et al. 2019, section 3.1; TinyBERT's g(m) = m·N/M). With 6 of 12 layers: 1→2, 2→4, …, 6→12.
     */
    public static LayerMapping uniform(int studentLayers, int teacherLayers) {
        check(studentLayers, teacherLayers);
        if (teacherLayers % studentLayers != 0) {
            throw new DistillException("a uniform mapping needs the teacher's layers (" + teacherLayers
                    + ") to be a multiple of the student's (" + studentLayers + "); give an explicit mapping instead");
        }
        List<Pair> p = new ArrayList<>();
        for (int m = 1; m <= studentLayers; m++) {
            p.add(new Pair(m, m * teacherLayers / studentLayers));
        }
        return new LayerMapping(p);
    }

    /** PKD-last: the student's M layers learn from the teacher's top M layers, N−M+1..N. */
    public static LayerMapping last(int studentLayers, int teacherLayers) {
        check(studentLayers, teacherLayers);
        List<Pair> p = new ArrayList<>();
        for (int m = 1; m <= studentLayers; m++) {
            p.add(new Pair(m, teacherLayers - studentLayers + m));
        }
        return new LayerMapping(p);
    }

    /** Explicit pairs: {@code student[i]} learns from {@code teacher[i]}. */
    public static LayerMapping explicit(int[] student, int[] teacher) {
        if (student.length != teacher.length) {
            throw new DistillException("an explicit mapping needs as many student layers " + Arrays.toString(student)
                    + " as teacher layers " + Arrays.toString(teacher));
        }
        List<Pair> p = new ArrayList<>();
        for (int i = 0; i < student.length; i++) {
            p.add(new Pair(student[i], teacher[i]));
        }
        return new LayerMapping(p);
    }

    /** The same mapping without pairs of the given student layer (PKD leaves out the top layer). */
    public LayerMapping withoutStudentLayer(int layer) {
        return new LayerMapping(pairs.stream().filter(p -> p.student() != layer).toList());
    }

    /** The teacher layers the pairs name, each once. */
    public Set<Integer> teacherLayers() {
        Set<Integer> layers = new TreeSet<>();
        pairs.forEach(p -> layers.add(p.teacher()));
        return layers;
    }

    /** The sum of a per-pair loss over every pair of layers. */
    public NDArray sum(Function<Pair, NDArray> perPair) {
        NDArray total = null;
        for (Pair p : pairs) {
            NDArray l = perPair.apply(p);
            total = total == null ? l : total.add(l);
        }
        return total;
    }

    /** Refuses pairs that name a layer either model lacks (0 = embeddings is allowed). */
    public LayerMapping validate(int studentLayers, int teacherLayers) {
        for (Pair p : pairs) {
            if (p.student() < 0 || p.student() > studentLayers) {
                throw new DistillException("layer mapping " + this + " names student layer " + p.student()
                        + " but the student has layers 0 (embeddings) to " + studentLayers);
            }
            if (p.teacher() < 0 || p.teacher() > teacherLayers) {
                throw new DistillException("layer mapping " + this + " names teacher layer " + p.teacher()
                        + " but the teacher has layers 0 (embeddings) to " + teacherLayers);
            }
        }
        return this;
    }

    private static void check(int studentLayers, int teacherLayers) {
        if (studentLayers < 1 || teacherLayers < 1 || studentLayers > teacherLayers) {
            throw new DistillException("cannot map a " + studentLayers + "-layer student onto a " + teacherLayers
                    + "-layer teacher: need 1 <= student layers <= teacher layers");
        }
    }

    @Override
    public String toString() {
        return pairs.toString();
    }
}
