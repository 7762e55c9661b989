package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Kernels of low-rank key factors (ShadowKV): rebuilding a key from its factors, and the Gram matrix of keys. */
public final class LowRankKernels {
    private static final VectorSpecies<Float> F = VectorMath.F;

    private LowRankKernels() {}

    /**
     * {@code out[d] = Σ_j f[j] · basis[j·w + base + d]} for d &lt; n, j &lt; r, each sum {@code fma}-accumulated in
     * order of j (the same in every lane and in the scalar tail).
     */
    public static void combine(float[] basis, int base, int w, float[] f, int r, float[] out, int n) {
        int upper = F.loopBound(n);
        for (int d = 0; d < upper; d += F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int j = 0; j < r; j++) {
                acc = FloatVector.fromArray(F, basis, j * w + base + d).fma(FloatVector.broadcast(F, f[j]), acc);
            }
            acc.intoArray(out, d);
        }
        for (int d = upper; d < n; d++) {
            float acc = 0f;
            for (int j = 0; j < r; j++) {
                acc = Math.fma(basis[j * w + base + d], f[j], acc);
            }
            out[d] = acc;
        }
    }

    /** Adds the outer product of row {@code x[row .. row+w)} with itself to the w × w matrix {@code gram}. */
    public static void gramAdd(float[] x, int row, int w, float[] gram) {
        int lanes = F.length(), upper = F.loopBound(w);
        for (int a = 0; a < w; a++) {
            float xa = x[row + a];
            FloatVector xv = FloatVector.broadcast(F, xa);
            int g = a * w, b = 0;
            for (; b < upper; b += lanes) {
                FloatVector.fromArray(F, x, row + b).fma(xv, FloatVector.fromArray(F, gram, g + b)).intoArray(gram, g + b);
            }
            for (; b < w; b++) {
                gram[g + b] = Math.fma(xa, x[row + b], gram[g + b]);
            }
        }
    }
}
