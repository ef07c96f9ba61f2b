package org.distill4j;

/**
 * The one exception type distill4j throws for problems a user can act on: a missing file,
 * a malformed model, a shape that disagrees with the config. The message always names the
 * file, tensor or field at fault.
 */
public class DistillException extends RuntimeException {

    public DistillException(String message) {
        super(message);
    }

    public DistillException(String message, Throwable cause) {
        super(message, cause);
    }
}
