package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/** IEEE half precision, widened with {@code Float.float16ToFloat} (vectorised by C2 to half-to-float instructions). */
public final class F16Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /**
     * The most tokens multiplied by the fused four-row kernels instead of the register tiles: F16 rows are widened once
     * for all of them, which beats the tiles' panel decoding up to about 16 tokens (docs/performance-notes.md).
     */
    static final int FUSED_TOKENS = 16;

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        // a plain loop: C2 turns Float.float16ToFloat over a segment into vector half-to-float instructions
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src.get(Bytes.LE_SHORT, offset + 2L * i));
        }
    }

    /**
     * Canonical order: the row widened into {@code scratch} first (the plain loop of {@link #dequantize}, which C2
     * compiles to vector half-to-float conversions, one instruction per 16 values), then {@link VectorMath#dot}.
     * (Widening with one conversion per 16 values beats doing it with integer bit operations inside the dot.)
     */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        dequantize(w, offset, scratch, 0, n);
        return VectorMath.dot(scratch, 0, x, xOff, n, scratch, n);
    }

    /** The four rows (contiguous) widened in one loop, then {@link VectorMath#dotRows4}: bits as {@link #dot}. */
    @Override
    public void dotRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xOff, int n, float[] out, int outOff, float[] scratch) {
        if (rowBytes != 2L * n) {
            QuantFormat.super.dotRows4(w, offset, rowBytes, x, xOff, n, out, outOff, scratch);
            return;
        }
        dequantize(w, offset, scratch, 0, 4 * n);
        VectorMath.dotRows4(scratch, 0, n, x, xOff, out, outOff, scratch, 4 * n);
    }

    /**
     * Four rows widened in one loop, then {@link VectorMath#dotRows4x2} per pair of tokens ({@link VectorMath#dotRows4}
     * for an odd one): each widened weight chunk is loaded once for two tokens and each activation chunk once for four
     * rows. Bits as {@link #dot}.
     */
    @Override
    public void dotTokensRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xBase, int xStride, int count, int n,
                               float[] out, int outBase, int outStride, float[] scratch) {
        if (rowBytes != 2L * n) {
            QuantFormat.super.dotTokensRows4(w, offset, rowBytes, x, xBase, xStride, count, n, out, outBase, outStride, scratch);
            return;
        }
        dequantize(w, offset, scratch, 0, 4 * n);
        int t = 0;
        for (; t + 2 <= count; t += 2) {
            VectorMath.dotRows4x2(scratch, 0, n, x, xBase + t * xStride, xStride, out, outBase + t * outStride, outStride, scratch, 4 * n);
        }
        if (t < count) {
            VectorMath.dotRows4(scratch, 0, n, x, xBase + t * xStride, out, outBase + t * outStride, scratch, 4 * n);
        }
    }

    /** Widening rows and laying them out for the tiles costs more than the tiles save below ~16 tokens. */
    @Override
    public int fusedTokens() {
        return F.length() == 16 ? FUSED_TOKENS : 0;
    }

    /** Up to four tokens per pass (2 or 4 pairs of accumulators): the row widened once into {@code scratch}; bits as {@link #dot}. */
    @Override
    public void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                          int outStride, float[] scratch) {
        for (int t = 0; t < count; ) {
            int c = Math.min(4, count - t);
            int xb = xBase + t * xStride, ob = outBase + t * outStride;
            if (c > 2) {
                dot4(w, offset, x, xb, xStride, c, n, out, ob, outStride, scratch);
            } else {
                dot2(w, offset, x, xb, xStride, c, n, out, ob, outStride, scratch);
            }
            t += c;
        }
    }

    private void dot2(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out,
                             int outBase, int outStride, float[] scratch) {
        dequantize(w, offset, scratch, 0, n);
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        int lanes = F.length();
        int i = 0;
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            FloatVector v = FloatVector.fromArray(F, scratch, i);
            FloatVector u = FloatVector.fromArray(F, scratch, i + lanes);
            e0 = v.fma(FloatVector.fromArray(F, x, x0 + i), e0);
            o0 = u.fma(FloatVector.fromArray(F, x, x0 + i + lanes), o0);
            e1 = v.fma(FloatVector.fromArray(F, x, x1 + i), e1);
            o1 = u.fma(FloatVector.fromArray(F, x, x1 + i + lanes), o1);
        }
        if (i + lanes <= n) {
            FloatVector v = FloatVector.fromArray(F, scratch, i);
            e0 = v.fma(FloatVector.fromArray(F, x, x0 + i), e0);
            e1 = v.fma(FloatVector.fromArray(F, x, x1 + i), e1);
            i += lanes;
        }
        e0.add(o0).intoArray(scratch, 0);
        e1.add(o1).intoArray(scratch, 16);
        for (int r = 0; r < count; r++) {
            out[outBase + r * outStride] = laneSum(scratch, 16 * r) + tail(w, offset, x, xBase + r * xStride, i, n);
        }
    }

    private void dot4(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out,
                             int outBase, int outStride, float[] scratch) {
        dequantize(w, offset, scratch, 0, n);
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F), e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        int lanes = F.length();
        int i = 0;
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            FloatVector v = FloatVector.fromArray(F, scratch, i);
            FloatVector u = FloatVector.fromArray(F, scratch, i + lanes);
            e0 = v.fma(FloatVector.fromArray(F, x, x0 + i), e0);
            o0 = u.fma(FloatVector.fromArray(F, x, x0 + i + lanes), o0);
            e1 = v.fma(FloatVector.fromArray(F, x, x1 + i), e1);
            o1 = u.fma(FloatVector.fromArray(F, x, x1 + i + lanes), o1);
            e2 = v.fma(FloatVector.fromArray(F, x, x2 + i), e2);
            o2 = u.fma(FloatVector.fromArray(F, x, x2 + i + lanes), o2);
            e3 = v.fma(FloatVector.fromArray(F, x, x3 + i), e3);
            o3 = u.fma(FloatVector.fromArray(F, x, x3 + i + lanes), o3);
        }
        if (i + lanes <= n) {
            FloatVector v = FloatVector.fromArray(F, scratch, i);
            e0 = v.fma(FloatVector.fromArray(F, x, x0 + i), e0);
            e1 = v.fma(FloatVector.fromArray(F, x, x1 + i), e1);
            e2 = v.fma(FloatVector.fromArray(F, x, x2 + i), e2);
            e3 = v.fma(FloatVector.fromArray(F, x, x3 + i), e3);
            i += lanes;
        }
        e0.add(o0).intoArray(scratch, 0);
        e1.add(o1).intoArray(scratch, 16);
        e2.add(o2).intoArray(scratch, 32);
        e3.add(o3).intoArray(scratch, 48);
        for (int r = 0; r < count; r++) {
            out[outBase + r * outStride] = laneSum(scratch, 16 * r) + tail(w, offset, x, xBase + r * xStride, i, n);
        }
    }

    /**
     * The lanes of the vector stored at {@code scratch[off ..]}, summed in sumLanes's pairwise order. An array, not a
     * vector, crosses the call: C2 boxes a vector argument whenever it does not inline the callee.
     */
    private static float laneSum(float[] scratch, int off) {
        return F.length() == 16 ? VectorMath.lane16(scratch, off) : VectorMath.sumLanes(scratch, off);
    }

    /** Scalar remainder, as {@link #dot} adds it. */
    private static float tail(MemorySegment w, long offset, float[] x, int xOff, int from, int n) {
        float t = 0;
        for (int i = from; i < n; i++) {
            t += Float.float16ToFloat(w.get(Bytes.LE_SHORT, offset + 2L * i)) * x[xOff + i];
        }
        return t;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        for (int i = 0; i < n; i++) {
            QuantMath.putHalf(dst, dstOff + 2 * i, src[srcOff + i]);
        }
    }
}
