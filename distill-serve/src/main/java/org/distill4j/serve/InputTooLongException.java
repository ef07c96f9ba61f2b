package org.distill4j.serve;

/** A text longer than the model's maximum length, given to a model that does not truncate. */
public final class InputTooLongException extends IllegalArgumentException {

    private final int index;
    private final int maxLength;

    InputTooLongException(int index, int maxLength) {
        super("input " + index + " is longer than " + maxLength + " tokens; shorten it, raise maxLength, or let the "
                + "model truncate (InferenceOptions.withTruncate(true))");
        this.index = index;
        this.maxLength = maxLength;
    }

    /** Position of the first over-long text in the call's list. */
    public int index() {
        return index;
    }

    public int maxLength() {
        return maxLength;
    }
}
