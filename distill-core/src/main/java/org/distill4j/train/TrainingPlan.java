package org.distill4j.train;

import ai.djl.nn.Parameter;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.loss.TeacherRequest;
import org.distill4j.loss.WeightedTerm;
import org.distill4j.model.BertModel;
import org.distill4j.text.BertTokenizer;

/**
 * What a run trains: the student, the frozen teacher (or null), the stages, the data and options,
 * and every parameter the run can change, checked once when the trainer is built.
 *
 * @param parameters the student's parameters (walked when the plan is made, so modules attached to
 *     it before count) and those its loss terms learn; which of them train is each stage's choice
 */
record TrainingPlan(TrainerOptions options, BertModel student, BertModel teacher, BertTokenizer tokenizer,
        List<Stage> stages, boolean regression, TrainingData data, Map<String, Parameter> parameters) {

    static TrainingPlan of(TrainerOptions options, BertModel student, BertModel teacher, BertTokenizer tokenizer,
            List<Stage> stages, boolean regression, TrainingData data) {
        if (stages.isEmpty()) {
            throw new DistillException("a training plan needs at least one stage");
        }
        Map<String, Parameter> parameters = new LinkedHashMap<>(student.namedParameters());
        for (Stage s : stages) {
            TeacherRequest r = s.teacherRequest();
            if (!r.isEmpty() && teacher == null) {
                throw new DistillException("stage " + s.name() + ": loss terms " + s.terms() + " read the teacher, "
                        + "but none was given");
            }
            if (r.logits() && teacher.heads().taskOutputs() != student.heads().taskOutputs()) {
                throw new DistillException("the soft-target term needs a teacher fine-tuned for this task: the teacher "
                        + "has " + teacher.heads().taskOutputs() + " task outputs, the student "
                        + student.heads().taskOutputs());
            }
            for (WeightedTerm t : s.terms()) {
                t.term().parameters().forEach((name, p) -> {
                    Parameter was = parameters.putIfAbsent(name, p);
                    if (was != null && was != p) {
                        throw new DistillException("two parameters are named " + name + "; give loss terms distinct "
                                + "names");
                    }
                });
            }
        }
        if (teacher != null) {
            teacher.namedParameters().values().forEach(p -> p.getArray().setRequiresGradient(false));
        }
        return new TrainingPlan(options, student, teacher, tokenizer, List.copyOf(stages), regression, data,
                Collections.unmodifiableMap(parameters));
    }
}
