package org.distill4j.train;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;
import org.distill4j.DistillException;

/**
 * The arithmetic of the student's and teacher's forward and backward passes during training.
 * {@code fp16} runs the encoders on half-precision working copies of the weights while the
 * optimizer keeps fp32 master weights and scales the loss ({@link MixedPrecision}). There is no
 * {@code bf16}: DJL 0.35.1's PyTorch JNI has no bfloat16 type (a cast to it aborts the JVM).
 */
public enum Precision {
    FP32(DataType.FLOAT32), FP16(DataType.FLOAT16);

    private final DataType dataType;

    Precision(DataType dataType) {
        this.dataType = dataType;
    }

    /** The data type of the encoder's activations and working weights. */
    public DataType dataType() {
        return dataType;
    }

    /** Parses {@code fp32 | fp16} (any case). */
    public static Precision parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "fp32", "float32" -> FP32;
            case "fp16", "float16", "half" -> FP16;
            case "bf16", "bfloat16" -> throw new DistillException("precision bf16 is not available: DJL 0.35.1's PyTorch "
                    + "engine has no bfloat16 data type; use fp16 (mixed precision with loss scaling) or fp32");
            default -> throw new DistillException("precision must be fp32 or fp16; got '" + s + "'");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
