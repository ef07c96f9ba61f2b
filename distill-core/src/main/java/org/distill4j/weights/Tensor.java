package org.distill4j.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;

/**
 * A float32 tensor held on the Java heap while weights move between file formats and the model.
 *
 * @param shape dimensions, outermost first
 * @param data values in row-major order
 */
public record Tensor(long[] shape, float[] data) {

    public Tensor {
        long n = elements(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, data has "
                    + data.length);
        }
    }

    /**
     * How many values a shape holds, or -1 when a dimension is negative or the count is more than
     * a Java array holds: what a reader checks a file's claimed shape with before allocating.
     */
    public static long elements(long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                return -1;
            }
            if (d == 0) {
                return 0; // whatever the other dimensions claim
            }
        }
        long n = 1;
        for (long d : shape) {
            if (n > Integer.MAX_VALUE / d) {
                return -1;
            }
            n *= d;
        }
        return n;
    }

    /** A copy of an array's values (any float type), on the heap. */
    public static Tensor of(NDArray a) {
        if (a.getDataType() == DataType.FLOAT32) {
            return new Tensor(a.getShape().getShape(), a.toFloatArray());
        }
        try (NDArray f = a.toType(DataType.FLOAT32, true)) {
            return new Tensor(a.getShape().getShape(), f.toFloatArray());
        }
    }

    /** The transpose of a matrix: TensorFlow and ONNX store dense kernels [in, out], PyTorch [out, in]. */
    public Tensor transpose() {
        if (shape.length != 2) {
            throw new IllegalStateException("transpose needs a matrix, shape is " + Arrays.toString(shape));
        }
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        float[] t = new float[data.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = data[r * cols + c];
            }
        }
        return new Tensor(new long[] {cols, rows}, t);
    }

    public long size() {
        return data.length;
    }

    /** How many of {@code values} are exactly zero (what magnitude pruning leaves). */
    public static long zeros(float[] values) {
        long n = 0;
        for (float v : values) {
            if (v == 0) {
                n++;
            }
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
