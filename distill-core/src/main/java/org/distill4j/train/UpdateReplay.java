package org.distill4j.train;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;

/**
 * What recomputing a kept skipped update gave ({@link Trainer#replay}): its loss terms now and as
 * the run saw them, and whether its gradients are non-finite again. A batch that always yields
 * them is a data or numerics problem; one that does not is a computation that is not repeatable.
 *
 * @param step the update replayed
 * @param values the loss terms now; {@code recorded} as the run saw them
 * @param nonFinite parameters whose gradients are not finite now (empty: the update is clean)
 * @param gradNorm the global gradient norm now (not finite when {@code nonFinite} is not empty)
 * @param parameters how many parameters are trained
 */
public record UpdateReplay(int step, Map<String, Float> values, Map<String, Float> recorded, List<String> nonFinite,
        float gradNorm, int parameters) {

    /** Replays the update {@code kept} in {@code dir} on a stage restored to the state {@code st} it was kept in. */
    static UpdateReplay of(Path dir, SkipArchive.Kept kept, StageRun run, RunState st) {
        if (st.micro != kept.first()) {
            throw new DistillException(dir + ": its checkpoint stands at micro-batch " + st.micro + " but skip.json "
                    + "says the update began at " + kept.first());
        }
        for (int micro = kept.first(); micro < kept.end(); micro++) {
            if (!Arrays.equals(run.prefetch.indices(micro), kept.examples().get(micro - kept.first()))) {
                throw new DistillException(dir + ": micro-batch " + micro + " holds other examples than when it "
                        + "was kept: the data, batch size or seed differ from the run's");
            }
        }
        Map<String, Float> values = new LinkedHashMap<>();
        boolean finite = run.gradientsOnly(st, kept.first(), kept.end(), st.step, values);
        float norm = finite ? run.adam.gradientNorm() : Float.NaN;
        run.adam.zeroGradients();
        List<String> nonFinite = finite ? run.adam.nonFiniteParameters() : List.of("the loss itself");
        return new UpdateReplay(kept.step(), values, kept.values(), nonFinite, norm, run.adam.size());
    }

    /** Whether the loss terms came out bit for bit as in the run. */
    public boolean sameLoss() {
        return values.equals(recorded);
    }

    /** One paragraph for a person. */
    public String summary() {
        return String.format("step %d: loss terms %s (the run saw %s: %s); gradients %s", step, values, recorded,
                sameLoss() ? "bit-identical" : "different", nonFinite.isEmpty()
                        ? String.format("all finite (norm %.4g): the skip did not repeat", gradNorm)
                        : "not finite in " + UpdateStep.listed(nonFinite, parameters) + ": the skip repeats");
    }
}
