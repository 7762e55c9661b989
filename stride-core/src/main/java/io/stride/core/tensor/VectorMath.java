package io.stride.core.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Vectorised float kernels over arrays: dot products, RMSNorm, softmax, SiLU. No allocation. */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private VectorMath() {}

    /** Lanes per float vector. */
    public static final int LANES = F.length();
    /** lane permutations i -> i ^ (L/2), ..., i ^ 1: a fixed pairwise order for summing lanes with vector ops */
    private static final VectorShuffle<Float> SWAP_1 = swap(1), SWAP_2 = swap(2), SWAP_3 = swap(3), SWAP_4 = swap(4);

    private static VectorShuffle<Float> swap(int level) {
        int bit = LANES >> level;
        return VectorShuffle.fromOp(F, i -> bit == 0 ? i : i ^ bit);
    }

    /**
     * Sum of {@link #LANES} floats at {@code t[off..]} (a vector's lanes stored with {@code intoArray}) in a fixed
     * pairwise order, in place. Unlike {@code reduceLanes(ADD)}, whose order is unspecified (the JIT intrinsic and
     * the interpreter's fallback differ), this gives the same bits in every compilation state, so results never
     * depend on how warm the JIT is; and it takes an array, not a vector, so a call that is not inlined costs no
     * vector boxing.
     */
    public static float sumLanes(float[] t, int off) {
        for (int h = LANES / 2; h > 0; h >>= 1) {
            for (int i = 0; i < h; i++) {
                t[off + i] += t[off + i + h];
            }
        }
        return t[off];
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23

    /**
     * e^x from fused multiply-adds and bit operations only (Cody-Waite reduction, degree-6 polynomial, about
     * 2 ulp), so vector lanes and the scalar {@link #exp(float)} agree bit for bit in every compilation state.
     */
    public static FloatVector exp(FloatVector x) {
        x = x.max(-87.0f).min(88.0f);
        FloatVector t = x.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, 1.0f / 720), FloatVector.broadcast(F, 1.0f / 120));
        p = p.fma(r, FloatVector.broadcast(F, 1.0f / 24));
        p = p.fma(r, FloatVector.broadcast(F, 1.0f / 6));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1.0f));
        p = p.fma(r, FloatVector.broadcast(F, 1.0f));
        IntVector bits = t.reinterpretAsInts().sub(0x4B400000).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** Scalar twin of {@link #exp(FloatVector)}: the same operations, the same bits. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, -87.0f), 88.0f);
        float t = x * LOG2E + ROUND;
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, 1.0f / 720, 1.0f / 120);
        p = Math.fma(p, r, 1.0f / 24);
        p = Math.fma(p, r, 1.0f / 6);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1.0f);
        p = Math.fma(p, r, 1.0f);
        int bits = (Float.floatToRawIntBits(t) - 0x4B400000 + 127) << 23;
        return p * Float.intBitsToFloat(bits);
    }

    /**
     * The canonical dot product: one vector accumulator over k in steps of the vector length, lanes summed,
     * then the scalar remainder summed separately and added. Every matrix kernel (fused decode, tiled prefill)
     * computes each output in exactly this order, so a token's result never depends on the batch around it.
     */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n, float[] tmp, int tmpOff) {
        int i = 0;
        int lanes = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float lanesSum;
        if (lanes == 16) {
            // the fixed pairwise order of sumLanes, with vector shuffles (written out here so that no vector
            // crosses a method boundary)
            acc = acc.add(acc.rearrange(SWAP_1));
            acc = acc.add(acc.rearrange(SWAP_2));
            acc = acc.add(acc.rearrange(SWAP_3));
            acc = acc.add(acc.rearrange(SWAP_4));
            lanesSum = acc.lane(0);
        } else {
            acc.intoArray(tmp, tmpOff);
            lanesSum = sumLanes(tmp, tmpOff);
        }
        return lanesSum + tail(a, aOff, b, bOff, i, n);
    }

    /** The canonical dot product (see {@link #dot(float[], int, float[], int, int, float[], int)}) of float32 data in a segment with an array. */
    public static float dot(MemorySegment a, long aByteOff, float[] b, int bOff, int n, float[] tmp) {
        int i = 0;
        int lanes = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            acc = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float t = 0;
        for (; i < n; i++) {
            t += a.get(Bytes.LE_FLOAT, aByteOff + 4L * i) * b[bOff + i];
        }
        acc.intoArray(tmp, 0);
        return sumLanes(tmp, 0) + t;
    }

    /**
     * A 4×4 register tile of a matrix product: rows {@code w[w0 + i*n ..]} (i < 4) times activation rows
     * {@code x[x0 + j*n ..]} (j < 4); out[o0 + j*stride + i] receives each dot product. Sixteen accumulators
     * share every load, so each decoded weight is used four times per load.
     */
    public static void tile4x4(float[] w, int w0, float[] x, int x0, int n, float[] out, int o0, int stride, float[] tmp, int tmpOff) {
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
        int L = lanes;
        a00.intoArray(tmp, tmpOff + 0 * L);
        a01.intoArray(tmp, tmpOff + 1 * L);
        a02.intoArray(tmp, tmpOff + 2 * L);
        a03.intoArray(tmp, tmpOff + 3 * L);
        a10.intoArray(tmp, tmpOff + 4 * L);
        a11.intoArray(tmp, tmpOff + 5 * L);
        a12.intoArray(tmp, tmpOff + 6 * L);
        a13.intoArray(tmp, tmpOff + 7 * L);
        a20.intoArray(tmp, tmpOff + 8 * L);
        a21.intoArray(tmp, tmpOff + 9 * L);
        a22.intoArray(tmp, tmpOff + 10 * L);
        a23.intoArray(tmp, tmpOff + 11 * L);
        a30.intoArray(tmp, tmpOff + 12 * L);
        a31.intoArray(tmp, tmpOff + 13 * L);
        a32.intoArray(tmp, tmpOff + 14 * L);
        a33.intoArray(tmp, tmpOff + 15 * L);
        int xs = stride;
        out[o0] = sumLanes(tmp, tmpOff + 0 * L) + tail(w, w0, x, x0, k, n);
        out[o0 + xs] = sumLanes(tmp, tmpOff + 1 * L) + tail(w, w0, x, x0 + n, k, n);
        out[o0 + 2 * xs] = sumLanes(tmp, tmpOff + 2 * L) + tail(w, w0, x, x0 + 2 * n, k, n);
        out[o0 + 3 * xs] = sumLanes(tmp, tmpOff + 3 * L) + tail(w, w0, x, x0 + 3 * n, k, n);
        out[o0 + 1] = sumLanes(tmp, tmpOff + 4 * L) + tail(w, w0 + n, x, x0, k, n);
        out[o0 + 1 + xs] = sumLanes(tmp, tmpOff + 5 * L) + tail(w, w0 + n, x, x0 + n, k, n);
        out[o0 + 1 + 2 * xs] = sumLanes(tmp, tmpOff + 6 * L) + tail(w, w0 + n, x, x0 + 2 * n, k, n);
        out[o0 + 1 + 3 * xs] = sumLanes(tmp, tmpOff + 7 * L) + tail(w, w0 + n, x, x0 + 3 * n, k, n);
        out[o0 + 2] = sumLanes(tmp, tmpOff + 8 * L) + tail(w, w0 + 2 * n, x, x0, k, n);
        out[o0 + 2 + xs] = sumLanes(tmp, tmpOff + 9 * L) + tail(w, w0 + 2 * n, x, x0 + n, k, n);
        out[o0 + 2 + 2 * xs] = sumLanes(tmp, tmpOff + 10 * L) + tail(w, w0 + 2 * n, x, x0 + 2 * n, k, n);
        out[o0 + 2 + 3 * xs] = sumLanes(tmp, tmpOff + 11 * L) + tail(w, w0 + 2 * n, x, x0 + 3 * n, k, n);
        out[o0 + 3] = sumLanes(tmp, tmpOff + 12 * L) + tail(w, w0 + 3 * n, x, x0, k, n);
        out[o0 + 3 + xs] = sumLanes(tmp, tmpOff + 13 * L) + tail(w, w0 + 3 * n, x, x0 + n, k, n);
        out[o0 + 3 + 2 * xs] = sumLanes(tmp, tmpOff + 14 * L) + tail(w, w0 + 3 * n, x, x0 + 2 * n, k, n);
        out[o0 + 3 + 3 * xs] = sumLanes(tmp, tmpOff + 15 * L) + tail(w, w0 + 3 * n, x, x0 + 3 * n, k, n);
    }

    /** Scalar remainder of a dot product from index k to n. */
    static float tail(float[] a, int aOff, float[] b, int bOff, int k, int n) {
        float s = 0;
        for (int i = k; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** out = x / rms(x) * weight, over n values. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        int lanes = F.length();
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
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

    /** gate[off+i] = silu(gate[off+i]) * up[off+i] for i in [0, n), with the deterministic {@link #exp}. */
    public static void swiGlu(float[] gate, float[] up, int off, int n) {
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector g = FloatVector.fromArray(F, gate, off + i);
            FloatVector sig = exp(g.neg()).add(1f);
            g.div(sig).mul(FloatVector.fromArray(F, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) {
            float g = gate[off + i];
            gate[off + i] = g / (exp(-g) + 1f) * up[off + i];
        }
    }
}
