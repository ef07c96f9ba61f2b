package org.distill4j.train;

/**
 * BERT's learning-rate schedule: linear warm-up from 0 to the peak over the first steps, then
 * linear decay to 0 at the last step (Devlin et al. 2019, appendix A.2); or, without warm-up and
 * decay, the peak throughout.
 *
 * @param peak the learning rate reached at the end of warm-up
 * @param warmupSteps steps of warm-up
 * @param totalSteps steps of the whole run
 * @param decays whether the rate falls to 0 after warm-up (else it stays at the peak)
 */
public record LinearSchedule(float peak, int warmupSteps, int totalSteps, boolean decays) {

    public LinearSchedule {
        if (!(peak > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + peak);
        }
        if (warmupSteps < 0 || totalSteps <= 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("need 0 <= warm-up steps (" + warmupSteps + ") <= total steps ("
                    + totalSteps + ") and total steps > 0");
        }
    }

    /** Warm-up and decay. */
    public LinearSchedule(float peak, int warmupSteps, int totalSteps) {
        this(peak, warmupSteps, totalSteps, true);
    }

    /** Warm-up over a fraction of the run (BERT fine-tuning uses 0.1), then decay. */
    public static LinearSchedule withWarmupFraction(float peak, double fraction, int totalSteps) {
        return new LinearSchedule(peak, (int) Math.round(fraction * totalSteps), totalSteps);
    }

    /** The peak rate at every step. */
    public static LinearSchedule constant(float peak, int totalSteps) {
        return new LinearSchedule(peak, 0, totalSteps, false);
    }

    /** The learning rate for 0-based step {@code step}. */
    public float at(int step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / (float) warmupSteps;
        }
        int decay = totalSteps - warmupSteps;
        if (!decays) {
            return peak;
        }
        return decay == 0 ? peak : peak * Math.max(0, totalSteps - step) / (float) decay;
    }
}
