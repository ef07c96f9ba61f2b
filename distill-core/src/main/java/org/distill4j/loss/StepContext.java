package org.distill4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.Random;
import org.distill4j.model.BertModel;
import org.distill4j.model.EncoderInput;
import org.distill4j.model.EncoderOutput;

/**
 * What one student forward pass offers its loss terms. Student outputs carry gradients; the
 * teacher's were computed without them (live, or from a cache).
 *
 * @param manager the step's manager: every array made for this step belongs to it
 * @param student the student, for terms that run an extra forward (the masked-LM term)
 * @param input the batch as the encoders see it
 * @param studentOut the student's forward in training mode
 * @param studentLogits task-head outputs, [batch, outputs], or null when the student has no task head
 * @param teacher the teacher's answers to the stage's requests, or null when no term reads the teacher
 * @param labels gold labels, [batch] (class index as float, or the regression target), or null for
 *     unlabelled text
 * @param regression whether the task is a regression (one output)
 * @param random this step's random source, seeded from (seed, micro-batch) for exact resume
 */
public record StepContext(
        ParameterStore ps, NDManager manager, BertModel student, EncoderInput input, EncoderOutput studentOut,
        NDArray studentLogits, TeacherOutputs teacher, NDArray labels, boolean regression, Random random) {

    /** The teacher's answers, or an error naming the term that needed them. */
    public TeacherOutputs requireTeacher(String term) {
        if (teacher == null) {
            throw new IllegalStateException(term + " reads the teacher, but this step has none: declare what it "
                    + "reads in teacherRequest()");
        }
        return teacher;
    }

    /** The gold labels, or an error naming the term that needed them. */
    public NDArray requireLabels(String term) {
        if (labels == null) {
            throw new IllegalStateException(term + " reads gold labels, but this stage trains on unlabelled text: "
                    + "leave the term out of that stage");
        }
        return labels;
    }
}
