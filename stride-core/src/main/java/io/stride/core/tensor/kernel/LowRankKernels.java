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

    /**
     * Row a of the Gram matrix of rows t0 .. t1 of {@code x} (w wide): {@code gram[a·w + b] += Σ_t x[t·w + a] · x[t·w + b]}
     * for b from a rounded down to a whole vector (the entries left of a are partial: read only b ≥ a), one
     * {@code fma} per t in increasing t, so the sums are those of adding one row's outer product at a time.
     */
    public static void gramRow(float[] x, int t0, int t1, int w, int a, float[] gram) {
        int lanes = F.length(), upper = F.loopBound(w), g = a * w;
        int b0 = a / lanes * lanes;
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
            int r0 = t * w, r1 = r0 + w, r2 = r1 + w, r3 = r2 + w;
            FloatVector x0 = FloatVector.broadcast(F, x[r0 + a]), x1 = FloatVector.broadcast(F, x[r1 + a]);
            FloatVector x2 = FloatVector.broadcast(F, x[r2 + a]), x3 = FloatVector.broadcast(F, x[r3 + a]);
            int b = b0;
            for (; b < upper; b += lanes) {
                FloatVector acc = FloatVector.fromArray(F, gram, g + b);
                acc = FloatVector.fromArray(F, x, r0 + b).fma(x0, acc);
                acc = FloatVector.fromArray(F, x, r1 + b).fma(x1, acc);
                acc = FloatVector.fromArray(F, x, r2 + b).fma(x2, acc);
                acc = FloatVector.fromArray(F, x, r3 + b).fma(x3, acc);
                acc.intoArray(gram, g + b);
            }
            for (; b < w; b++) {
                float acc = gram[g + b];
                acc = Math.fma(x[r0 + b], x[r0 + a], acc);
                acc = Math.fma(x[r1 + b], x[r1 + a], acc);
                acc = Math.fma(x[r2 + b], x[r2 + a], acc);
                gram[g + b] = Math.fma(x[r3 + b], x[r3 + a], acc);
            }
        }
        for (; t < t1; t++) {
            int r = t * w;
            FloatVector xa = FloatVector.broadcast(F, x[r + a]);
            int b = b0;
            for (; b < upper; b += lanes) {
                FloatVector.fromArray(F, x, r + b).fma(xa, FloatVector.fromArray(F, gram, g + b)).intoArray(gram, g + b);
            }
            for (; b < w; b++) {
                gram[g + b] = Math.fma(x[r + b], x[r + a], gram[g + b]);
            }
        }
    }
}
