package io.stride.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Vectorised float kernels over arrays: dot products, RMSNorm, softmax, SiLU. No allocation. */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        int lanes = F.length();
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + lanes).fma(FloatVector.fromArray(F, b, bOff + i + lanes), acc1);
        }
        for (; i + lanes <= n; i += lanes) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** Dot product of little-endian float32 data in a segment with an array. */
    public static float dot(MemorySegment a, long aByteOff, float[] b, int bOff, int n) {
        int i = 0;
        int lanes = F.length();
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            acc0 = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * (i + lanes), ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i + lanes), acc1);
        }
        for (; i + lanes <= n; i += lanes) {
            acc0 = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a.get(Bytes.LE_FLOAT, aByteOff + 4L * i) * b[bOff + i];
        }
        return s;
    }

    /**
     * Four dot products of one weight row {@code w} against four activation rows of {@code x}
     * (at offsets x0..x3), sharing every load of the weight row.
     */
    public static void dot4(float[] w, int wOff, float[] x, int x0, int x1, int x2, int x3, int n, float[] out, int o0, int stride) {
        int i = 0;
        int lanes = F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            FloatVector wv = FloatVector.fromArray(F, w, wOff + i);
            a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float wi = w[wOff + i];
            s0 += wi * x[x0 + i];
            s1 += wi * x[x1 + i];
            s2 += wi * x[x2 + i];
            s3 += wi * x[x3 + i];
        }
        out[o0] = s0;
        out[o0 + stride] = s1;
        out[o0 + 2 * stride] = s2;
        out[o0 + 3 * stride] = s3;
    }

    /**
     * A 4×4 register tile of a matrix product: rows {@code w[w0 + i*n ..]} (i < 4) times activation rows
     * {@code x[x0 + j*n ..]} (j < 4); out[o0 + j*stride + i] receives each dot product. Sixteen accumulators
     * share every load, so each decoded weight is used four times per load.
     */
    public static void tile4x4(float[] w, int w0, float[] x, int x0, int n, float[] out, int o0, int stride) {
        int lanes = F.length();
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int k = 0;
        for (; k + lanes <= n; k += lanes) {
            FloatVector x0v = FloatVector.fromArray(F, x, x0 + k);
            FloatVector x1v = FloatVector.fromArray(F, x, x0 + n + k);
            FloatVector x2v = FloatVector.fromArray(F, x, x0 + 2 * n + k);
            FloatVector x3v = FloatVector.fromArray(F, x, x0 + 3 * n + k);
            FloatVector w0v = FloatVector.fromArray(F, w, w0 + k);
            a00 = w0v.fma(x0v, a00);
            a01 = w0v.fma(x1v, a01);
            a02 = w0v.fma(x2v, a02);
            a03 = w0v.fma(x3v, a03);
            FloatVector w1v = FloatVector.fromArray(F, w, w0 + n + k);
            a10 = w1v.fma(x0v, a10);
            a11 = w1v.fma(x1v, a11);
            a12 = w1v.fma(x2v, a12);
            a13 = w1v.fma(x3v, a13);
            FloatVector w2v = FloatVector.fromArray(F, w, w0 + 2 * n + k);
            a20 = w2v.fma(x0v, a20);
            a21 = w2v.fma(x1v, a21);
            a22 = w2v.fma(x2v, a22);
            a23 = w2v.fma(x3v, a23);
            FloatVector w3v = FloatVector.fromArray(F, w, w0 + 3 * n + k);
            a30 = w3v.fma(x0v, a30);
            a31 = w3v.fma(x1v, a31);
            a32 = w3v.fma(x2v, a32);
            a33 = w3v.fma(x3v, a33);
        }
        int xs = stride;
        out[o0] = a00.reduceLanes(VectorOperators.ADD) + tail(w, w0, x, x0, k, n);
        out[o0 + xs] = a01.reduceLanes(VectorOperators.ADD) + tail(w, w0, x, x0 + n, k, n);
        out[o0 + 2 * xs] = a02.reduceLanes(VectorOperators.ADD) + tail(w, w0, x, x0 + 2 * n, k, n);
        out[o0 + 3 * xs] = a03.reduceLanes(VectorOperators.ADD) + tail(w, w0, x, x0 + 3 * n, k, n);
        out[o0 + 1] = a10.reduceLanes(VectorOperators.ADD) + tail(w, w0 + n, x, x0, k, n);
        out[o0 + 1 + xs] = a11.reduceLanes(VectorOperators.ADD) + tail(w, w0 + n, x, x0 + n, k, n);
        out[o0 + 1 + 2 * xs] = a12.reduceLanes(VectorOperators.ADD) + tail(w, w0 + n, x, x0 + 2 * n, k, n);
        out[o0 + 1 + 3 * xs] = a13.reduceLanes(VectorOperators.ADD) + tail(w, w0 + n, x, x0 + 3 * n, k, n);
        out[o0 + 2] = a20.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 2 * n, x, x0, k, n);
        out[o0 + 2 + xs] = a21.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 2 * n, x, x0 + n, k, n);
        out[o0 + 2 + 2 * xs] = a22.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 2 * n, x, x0 + 2 * n, k, n);
        out[o0 + 2 + 3 * xs] = a23.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 2 * n, x, x0 + 3 * n, k, n);
        out[o0 + 3] = a30.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 3 * n, x, x0, k, n);
        out[o0 + 3 + xs] = a31.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 3 * n, x, x0 + n, k, n);
        out[o0 + 3 + 2 * xs] = a32.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 3 * n, x, x0 + 2 * n, k, n);
        out[o0 + 3 + 3 * xs] = a33.reduceLanes(VectorOperators.ADD) + tail(w, w0 + 3 * n, x, x0 + 3 * n, k, n);
    }

    /** Scalar remainder of a dot product from index k to n. */
    private static float tail(float[] a, int aOff, float[] b, int bOff, int k, int n) {
        float s = 0;
        for (int i = k; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** out = x / rms(x) * weight, over n values. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        int lanes = F.length();
        int i = 0;
        FloatVector acc = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        double ss = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * scale * weight[i];
        }
    }

    /** In-place softmax of x[off .. off+n). */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        scale(x, off, n, inv);
    }

    public static void scale(float[] x, int off, int n, float s) {
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    /** y[yOff..] += a * x[xOff..] over n values. */
    public static void axpy(float[] y, int yOff, float a, float[] x, int xOff, int n) {
        int lanes = F.length();
        int i = 0;
        FloatVector va = FloatVector.broadcast(F, a);
        for (; i + lanes <= n; i += lanes) {
            FloatVector yv = FloatVector.fromArray(F, y, yOff + i);
            FloatVector.fromArray(F, x, xOff + i).fma(va, yv).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** y[0..n) += x[0..n). */
    public static void add(float[] y, float[] x, int n) {
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) {
            y[i] += x[i];
        }
    }

    /** gate[i] = silu(gate[i]) * up[i] over n values. */
    public static void swiGlu(float[] gate, float[] up, int n) {
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector sig = g.neg().lanewise(VectorOperators.EXP).add(1f);
            g.div(sig).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            float g = gate[i];
            gate[i] = (float) (g / (1.0 + Math.exp(-g))) * up[i];
        }
    }
}
