package org.distill4j.glue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.distill4j.weights.StateDict;

/**
 * How far two sets of parameters are apart: elements not bit-equal, the relative L2 distance and
 * the largest absolute difference. The resume tests use it to tell a resume defect from CPU
 * kernels that are not repeatable run to run.
 */
record ParameterDifference(long elements, double relative, double maxAbsolute, String first) {

    static ParameterDifference of(StateDict a, StateDict b) {
        return of(arrays(a), arrays(b));
    }

    static ParameterDifference of(Map<String, float[]> a, Map<String, float[]> b) {
        if (!a.keySet().equals(b.keySet())) {
            throw new AssertionError("different parameters: " + a.keySet() + " vs " + b.keySet());
        }
        long n = 0;
        double diff = 0;
        double norm = 0;
        double max = 0;
        String first = null;
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            float[] x = e.getValue();
            float[] y = b.get(e.getKey());
            if (x.length != y.length) {
                throw new AssertionError(e.getKey() + ": " + x.length + " vs " + y.length + " elements");
            }
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToIntBits(x[i]) != Float.floatToIntBits(y[i])) {
                    n++;
                    first = first == null ? e.getKey() + "[" + i + "] " + x[i] + " vs " + y[i] : first;
                }
                double d = (double) x[i] - y[i];
                diff += d * d;
                norm += (double) x[i] * x[i];
                max = Math.max(max, Math.abs(d));
            }
        }
        return new ParameterDifference(n, Math.sqrt(diff / Math.max(norm, 1e-30)), max, first);
    }

    private static Map<String, float[]> arrays(StateDict s) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : s.tensors().keySet()) {
            out.put(name, s.get(name).data());
        }
        return out;
    }

    @Override
    public String toString() {
        return elements == 0 ? "no element" : String.format("%d elements (relative L2 %.2e, largest %.2e; first %s)",
                elements, relative, maxAbsolute, first);
    }
}
