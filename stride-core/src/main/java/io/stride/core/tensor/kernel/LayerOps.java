package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static io.stride.core.tensor.kernel.VectorMath.F;
import static io.stride.core.tensor.kernel.VectorMath.LANES;
import static io.stride.core.tensor.kernel.VectorMath.SWAP_1;
import static io.stride.core.tensor.kernel.VectorMath.SWAP_2;
import static io.stride.core.tensor.kernel.VectorMath.SWAP_3;
import static io.stride.core.tensor.kernel.VectorMath.SWAP_4;

/**
 * Element-wise operations of a layer over float arrays: RMSNorm, softmax, SwiGLU, scaling, axpy, residual add and the
 * attention's weighted sum of values, with an exponential built from fused multiply-adds only, so vector lanes and
 * the scalar tail give the same bits in every compilation state. No allocation.
 */
public final class LayerOps {
    private LayerOps() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23

    /**
     * e^x of the {@link VectorMath#LANES} floats at {@code a[off ..]}, in place, from fused multiply-adds and bit operations only
     * (Cody-Waite reduction, degree-6 polynomial, about 2 ulp), so vector lanes and the scalar {@link #exp(float)}
     * agree bit for bit in every compilation state. Arrays, not vectors, cross the call: the JIT boxes the vector
     * arguments and results of a call it does not inline, and large callers stop inlining.
     */
    static void expInPlace(float[] a, int off) {
        FloatVector x = FloatVector.fromArray(F, a, off).max(-87.0f).min(88.0f);
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
        p.mul(bits.reinterpretAsFloats()).intoArray(a, off);
    }

    /** Scalar twin of {@link #expInPlace}: the same operations, the same bits. */
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
     * y[yOff .. yOff+n) = sum over t of w[wOff + t] * x[offs[t] + add ..], accumulated in t order with one FMA per term (the
     * bits of repeated {@link #axpy} calls on a zeroed y), keeping y in registers when n is 64 lanes or fewer.
     */
    public static void weightedSum(float[] y, int yOff, float[] w, int wOff, float[] x, int[] offs, int add, int count, int n) {
        weightedSum(y, yOff, w, wOff, x, offs, add, count, n, false);
    }

    /** {@link #weightedSum}, continuing from the values in y when {@code accumulate} (same bits as one call over all t). */
    public static void weightedSum(float[] y, int yOff, float[] w, int wOff, float[] x, int[] offs, int add, int count, int n,
                                   boolean accumulate) {
        int lanes = F.length();
        if (n == 4 * lanes) {
            FloatVector y0 = FloatVector.zero(F), y1 = y0, y2 = y0, y3 = y0;
            if (accumulate) {
                y0 = FloatVector.fromArray(F, y, yOff);
                y1 = FloatVector.fromArray(F, y, yOff + lanes);
                y2 = FloatVector.fromArray(F, y, yOff + 2 * lanes);
                y3 = FloatVector.fromArray(F, y, yOff + 3 * lanes);
            }
            for (int t = 0; t < count; t++) {
                FloatVector a = FloatVector.broadcast(F, w[wOff + t]);
                int o = offs[t] + add;
                y0 = FloatVector.fromArray(F, x, o).fma(a, y0);
                y1 = FloatVector.fromArray(F, x, o + lanes).fma(a, y1);
                y2 = FloatVector.fromArray(F, x, o + 2 * lanes).fma(a, y2);
                y3 = FloatVector.fromArray(F, x, o + 3 * lanes).fma(a, y3);
            }
            y0.intoArray(y, yOff);
            y1.intoArray(y, yOff + lanes);
            y2.intoArray(y, yOff + 2 * lanes);
            y3.intoArray(y, yOff + 3 * lanes);
            return;
        }
        if (!accumulate) {
            java.util.Arrays.fill(y, yOff, yOff + n, 0f);
        }
        for (int t = 0; t < count; t++) {
            axpy(y, yOff, w[wOff + t], x, offs[t] + add, n);
        }
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
        float sum = expSum(x, off, n, max(x, off, n));
        float inv = 1f / sum;
        scale(x, off, n, inv);
    }

    /** The largest of x[off .. off+n) (exact in any order). */
    public static float max(float[] x, int off, int n) {
        int lanes = F.length();
        int i = 0;
        // the maximum by compare-and-blend: the JIT does not intrinsify the vector MAX on every CPU, and its fallback
        // allocates; exact in any order
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; i + lanes <= n; i += lanes) {
            FloatVector v = FloatVector.fromArray(F, x, off + i);
            vmax = vmax.blend(v, vmax.compare(VectorOperators.LT, v));
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int l = 0; l < lanes; l++) {
            max = Math.max(max, vmax.lane(l));
        }
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        return max;
    }

    /**
     * x[i] = e^(x[i] - max) in place over x[off .. off+n), returning their sum: the unnormalized softmax that
     * {@link #softmax} scales and split attention merges.
     */
    public static float expSum(float[] x, int off, int n, float max) {
        int lanes = F.length();
        int i = 0;
        // e^(x - max) with the FMA-only exp (vector lanes and the scalar tail agree bit for bit), summed in a
        // fixed order: one vector accumulator, lanes pairwise, then the tail
        FloatVector vm = FloatVector.broadcast(F, max);
        FloatVector acc = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            FloatVector.fromArray(F, x, off + i).sub(vm).intoArray(x, off + i);
            expInPlace(x, off + i);
            acc = acc.add(FloatVector.fromArray(F, x, off + i));
        }
        float tail = 0;
        for (; i < n; i++) {
            float e = exp(x[off + i] - max);
            x[off + i] = e;
            tail += e;
        }
        // the lanes in sumLanes' pairwise order with shuffles, for any width (LANES is a constant, so the tests fold
        // away; 8-lane machines allocated a float[8] here, DecodeAllocationTest's probe under -XX:UseAVX=2)
        if (LANES >= 2) acc = acc.add(acc.rearrange(SWAP_1));
        if (LANES >= 4) acc = acc.add(acc.rearrange(SWAP_2));
        if (LANES >= 8) acc = acc.add(acc.rearrange(SWAP_3));
        if (LANES >= 16) acc = acc.add(acc.rearrange(SWAP_4));
        return acc.lane(0) + tail;
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
            g.neg().intoArray(gate, off + i);
            expInPlace(gate, off + i);
            FloatVector sig = FloatVector.fromArray(F, gate, off + i).add(1f);
            g.div(sig).mul(FloatVector.fromArray(F, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) {
            float g = gate[off + i];
            gate[off + i] = g / (exp(-g) + 1f) * up[off + i];
        }
    }
}
