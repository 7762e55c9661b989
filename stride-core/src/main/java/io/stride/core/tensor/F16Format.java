package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * IEEE half precision. Vectorised widening: shift the half's magnitude bits into float position and rescale
 * by 2^112 (exact for normal and subnormal halves); inf/nan patterns are fixed up separately.
 */
final class F16Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final float MAGIC = 0x1p112f;

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    /** Lanes of {@code F} halves at byte {@code off}, widened to floats. */
    private static FloatVector load(MemorySegment src, long off) {
        ShortVector h = ShortVector.fromMemorySegment(S, src, off, ByteOrder.LITTLE_ENDIAN);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector mag = bits.and(0x7fff);
        IntVector shifted = mag.lanewise(VectorOperators.LSHL, 13);
        FloatVector f = shifted.reinterpretAsFloats().mul(MAGIC);
        VectorMask<Integer> special = mag.compare(VectorOperators.GE, 0x7c00);
        IntVector fb = f.reinterpretAsInts().blend(shifted.or(0x7f800000), special);
        IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        return fb.or(sign).reinterpretAsFloats();
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        // a plain loop: C2 turns Float.float16ToFloat over a segment into vector half-to-float instructions
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src.get(Bytes.LE_SHORT, offset + 2L * i));
        }
    }

    /** Canonical order (see {@link VectorMath#dot(float[], int, float[], int, int, float[], int)}), decoding on the fly. */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        int i = 0;
        int lanes = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            acc = load(w, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float t = 0;
        for (; i < n; i++) {
            t += Float.float16ToFloat(w.get(Bytes.LE_SHORT, offset + 2L * i)) * x[xOff + i];
        }
        if (VectorMath.LANES == 16) {
            // sumLanes's pairwise order with shuffles instead of a round trip through memory
            acc = acc.add(acc.rearrange(VectorMath.SWAP_1));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_2));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_3));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_4));
            return acc.lane(0) + t;
        }
        acc.intoArray(scratch, 0);
        return VectorMath.sumLanes(scratch, 0) + t;
    }

    @Override
    public boolean fusedMultiDot() {
        return F.length() == 16;
    }

    /** Up to eight tokens per pass (2, 4 or 8 accumulators): halves widened once per pass; bits as {@link #dot}. */
    @Override
    public void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                          int outStride, float[] scratch) {
        for (int t = 0; t < count; ) {
            int c = Math.min(8, count - t);
            int xb = xBase + t * xStride, ob = outBase + t * outStride;
            if (c > 4) {
                dot8(w, offset, x, xb, xStride, c, n, out, ob, outStride, scratch);
            } else if (c > 2) {
                dot4(w, offset, x, xb, xStride, c, n, out, ob, outStride, scratch);
            } else {
                dot2(w, offset, x, xb, xStride, c, n, out, ob, outStride, scratch);
            }
            t += c;
        }
    }

    private static void dot2(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out,
                             int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector v = load(w, offset + 2L * i);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
        }
        if (count > 0) out[outBase + 0 * outStride] = laneSum(a0, scratch) + tail(w, offset, x, x0, i, n);
        if (count > 1) out[outBase + 1 * outStride] = laneSum(a1, scratch) + tail(w, offset, x, x1, i, n);
    }

    private static void dot4(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out,
                             int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector v = load(w, offset + 2L * i);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        if (count > 0) out[outBase + 0 * outStride] = laneSum(a0, scratch) + tail(w, offset, x, x0, i, n);
        if (count > 1) out[outBase + 1 * outStride] = laneSum(a1, scratch) + tail(w, offset, x, x1, i, n);
        if (count > 2) out[outBase + 2 * outStride] = laneSum(a2, scratch) + tail(w, offset, x, x2, i, n);
        if (count > 3) out[outBase + 3 * outStride] = laneSum(a3, scratch) + tail(w, offset, x, x3, i, n);
    }

    private static void dot8(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out,
                             int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        int x4 = xBase + Math.min(4, count - 1) * xStride;
        int x5 = xBase + Math.min(5, count - 1) * xStride;
        int x6 = xBase + Math.min(6, count - 1) * xStride;
        int x7 = xBase + Math.min(7, count - 1) * xStride;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F), a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
        int lanes = F.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector v = load(w, offset + 2L * i);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            a4 = v.fma(FloatVector.fromArray(F, x, x4 + i), a4);
            a5 = v.fma(FloatVector.fromArray(F, x, x5 + i), a5);
            a6 = v.fma(FloatVector.fromArray(F, x, x6 + i), a6);
            a7 = v.fma(FloatVector.fromArray(F, x, x7 + i), a7);
        }
        if (count > 0) out[outBase + 0 * outStride] = laneSum(a0, scratch) + tail(w, offset, x, x0, i, n);
        if (count > 1) out[outBase + 1 * outStride] = laneSum(a1, scratch) + tail(w, offset, x, x1, i, n);
        if (count > 2) out[outBase + 2 * outStride] = laneSum(a2, scratch) + tail(w, offset, x, x2, i, n);
        if (count > 3) out[outBase + 3 * outStride] = laneSum(a3, scratch) + tail(w, offset, x, x3, i, n);
        if (count > 4) out[outBase + 4 * outStride] = laneSum(a4, scratch) + tail(w, offset, x, x4, i, n);
        if (count > 5) out[outBase + 5 * outStride] = laneSum(a5, scratch) + tail(w, offset, x, x5, i, n);
        if (count > 6) out[outBase + 6 * outStride] = laneSum(a6, scratch) + tail(w, offset, x, x6, i, n);
        if (count > 7) out[outBase + 7 * outStride] = laneSum(a7, scratch) + tail(w, offset, x, x7, i, n);
    }

    /** Lanes summed in sumLanes's pairwise order. */
    private static float laneSum(FloatVector acc, float[] scratch) {
        if (F.length() == 16) {
            acc = acc.add(acc.rearrange(VectorMath.SWAP_1));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_2));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_3));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_4));
            return acc.lane(0);
        }
        acc.intoArray(scratch, 0);
        return VectorMath.sumLanes(scratch, 0);
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
