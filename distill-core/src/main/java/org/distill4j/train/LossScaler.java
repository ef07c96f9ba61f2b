package org.distill4j.train;

/**
 * Dynamic loss scaling for fp16 training (Micikevicius et al. 2018): the loss is multiplied by a
 * scale before the backward pass so that small gradients do not flush to zero in half precision.
 * An overflow (a non-finite gradient) halves the scale and the update is skipped; after
 * {@code growthInterval} clean updates in a row the scale doubles again.
 */
public final class LossScaler {

    /** Below this the run is diverging, not overflowing: no scale can make its gradients finite. */
    static final float MIN_SCALE = 1f / 1024;

    private final int growthInterval;
    private float scale;
    private int clean;

    public LossScaler(float initialScale, int growthInterval) {
        if (!(initialScale > 0) || growthInterval < 1) {
            throw new IllegalArgumentException("need a positive initial scale and growth interval");
        }
        this.scale = initialScale;
        this.growthInterval = growthInterval;
    }

    /** 2^16 doubling every 2000 clean updates, the usual defaults. */
    public static LossScaler standard() {
        return new LossScaler(65536f, 2000);
    }

    public float scale() {
        return scale;
    }

    /** Clean updates since the last change of scale. */
    public int cleanUpdates() {
        return clean;
    }

    /** After an update whose gradients were all finite. */
    public void updated() {
        if (++clean >= growthInterval) {
            scale *= 2;
            clean = 0;
        }
    }

    /** After an overflow: halves the scale; false once it is too small to be an overflow any more. */
    public boolean overflowed() {
        scale /= 2;
        clean = 0;
        return scale >= MIN_SCALE;
    }

    /** Restores the state of a checkpoint. */
    public void restore(float scale, int cleanUpdates) {
        this.scale = scale;
        this.clean = cleanUpdates;
    }
}
