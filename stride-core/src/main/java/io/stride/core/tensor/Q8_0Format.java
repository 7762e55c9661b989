package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Q8_0: blocks of 32 int8 with one f16 scale. */
final class Q8_0Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (FAST) {
            for (int b = 0; b < n / 32; b++) {
                long o = offset + 34L * b;
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(src.get(Bytes.LE_SHORT, o)));
                int y = dstOff + 32 * b;
                ((FloatVector) ByteVector.fromMemorySegment(B, src, o + 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y);
                ((FloatVector) ByteVector.fromMemorySegment(B, src, o + 18, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y + 16);
            }
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 32; j++) {
                dst[y + j] = Bytes.i8(src, o + 2 + j) * d;
            }
        }
    }

    /** Canonical order (see {@link VectorMath#dot(float[], int, float[], int, int, float[], int)}): each value decoded as in {@link #dequantize}. */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        if (!FAST) {
            return QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, o)));
            int xi = xOff + 32 * b;
            FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            acc = w0.fma(FloatVector.fromArray(F, x, xi), acc);
            FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 18, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            acc = w1.fma(FloatVector.fromArray(F, x, xi + 16), acc);
        }
        if (VectorMath.LANES == 16) {
            // sumLanes's pairwise order with shuffles instead of a round trip through memory
            acc = acc.add(acc.rearrange(VectorMath.SWAP_1));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_2));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_3));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_4));
            return acc.lane(0);
        }
        acc.intoArray(scratch, 0);
        return VectorMath.sumLanes(scratch, 0);
    }

    @Override
    public boolean fusedMultiDot() {
        return FAST;
    }

    /**
     * Up to eight tokens at once (in groups of 2, 4 or 8 accumulators): each block decoded once per group; every
     * output has exactly the bits of {@link #dot}.
     */
    @Override
    public void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                          int outStride, float[] scratch) {
        if (!FAST) {
            QuantFormat.super.dotTokens(w, offset, x, xBase, xStride, count, n, out, outBase, outStride, scratch);
            return;
        }
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

    private void dot2(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                       int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, o)));
            int k = 32 * b;
            FloatVector lo = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector hi = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 18, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            a0 = lo.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a0 = hi.fma(FloatVector.fromArray(F, x, x0 + k + 16), a0);
            a1 = lo.fma(FloatVector.fromArray(F, x, x1 + k), a1);
            a1 = hi.fma(FloatVector.fromArray(F, x, x1 + k + 16), a1);
        }
        if (count > 0) out[outBase + 0 * outStride] = lane16(a0, scratch);
        if (count > 1) out[outBase + 1 * outStride] = lane16(a1, scratch);
    }

    private void dot4(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                       int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, o)));
            int k = 32 * b;
            FloatVector lo = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector hi = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 18, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            a0 = lo.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a0 = hi.fma(FloatVector.fromArray(F, x, x0 + k + 16), a0);
            a1 = lo.fma(FloatVector.fromArray(F, x, x1 + k), a1);
            a1 = hi.fma(FloatVector.fromArray(F, x, x1 + k + 16), a1);
            a2 = lo.fma(FloatVector.fromArray(F, x, x2 + k), a2);
            a2 = hi.fma(FloatVector.fromArray(F, x, x2 + k + 16), a2);
            a3 = lo.fma(FloatVector.fromArray(F, x, x3 + k), a3);
            a3 = hi.fma(FloatVector.fromArray(F, x, x3 + k + 16), a3);
        }
        if (count > 0) out[outBase + 0 * outStride] = lane16(a0, scratch);
        if (count > 1) out[outBase + 1 * outStride] = lane16(a1, scratch);
        if (count > 2) out[outBase + 2 * outStride] = lane16(a2, scratch);
        if (count > 3) out[outBase + 3 * outStride] = lane16(a3, scratch);
    }

    private void dot8(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                       int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        int x4 = xBase + Math.min(4, count - 1) * xStride;
        int x5 = xBase + Math.min(5, count - 1) * xStride;
        int x6 = xBase + Math.min(6, count - 1) * xStride;
        int x7 = xBase + Math.min(7, count - 1) * xStride;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F), a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, o)));
            int k = 32 * b;
            FloatVector lo = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector hi = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 18, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            a0 = lo.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a0 = hi.fma(FloatVector.fromArray(F, x, x0 + k + 16), a0);
            a1 = lo.fma(FloatVector.fromArray(F, x, x1 + k), a1);
            a1 = hi.fma(FloatVector.fromArray(F, x, x1 + k + 16), a1);
            a2 = lo.fma(FloatVector.fromArray(F, x, x2 + k), a2);
            a2 = hi.fma(FloatVector.fromArray(F, x, x2 + k + 16), a2);
            a3 = lo.fma(FloatVector.fromArray(F, x, x3 + k), a3);
            a3 = hi.fma(FloatVector.fromArray(F, x, x3 + k + 16), a3);
            a4 = lo.fma(FloatVector.fromArray(F, x, x4 + k), a4);
            a4 = hi.fma(FloatVector.fromArray(F, x, x4 + k + 16), a4);
            a5 = lo.fma(FloatVector.fromArray(F, x, x5 + k), a5);
            a5 = hi.fma(FloatVector.fromArray(F, x, x5 + k + 16), a5);
            a6 = lo.fma(FloatVector.fromArray(F, x, x6 + k), a6);
            a6 = hi.fma(FloatVector.fromArray(F, x, x6 + k + 16), a6);
            a7 = lo.fma(FloatVector.fromArray(F, x, x7 + k), a7);
            a7 = hi.fma(FloatVector.fromArray(F, x, x7 + k + 16), a7);
        }
        if (count > 0) out[outBase + 0 * outStride] = lane16(a0, scratch);
        if (count > 1) out[outBase + 1 * outStride] = lane16(a1, scratch);
        if (count > 2) out[outBase + 2 * outStride] = lane16(a2, scratch);
        if (count > 3) out[outBase + 3 * outStride] = lane16(a3, scratch);
        if (count > 4) out[outBase + 4 * outStride] = lane16(a4, scratch);
        if (count > 5) out[outBase + 5 * outStride] = lane16(a5, scratch);
        if (count > 6) out[outBase + 6 * outStride] = lane16(a6, scratch);
        if (count > 7) out[outBase + 7 * outStride] = lane16(a7, scratch);
    }

    /** Lanes summed in sumLanes's pairwise order. */
    private static float lane16(FloatVector acc, float[] scratch) {
        if (VectorMath.LANES == 16) {
            acc = acc.add(acc.rearrange(VectorMath.SWAP_1));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_2));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_3));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_4));
            return acc.lane(0);
        }
        acc.intoArray(scratch, 0);
        return VectorMath.sumLanes(scratch, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        for (int b = 0; b < n / 32; b++) {
            int x = srcOff + 32 * b;
            int o = dstOff + 34 * b;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(src[x + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            QuantMath.putHalf(dst, o, d);
            for (int j = 0; j < 32; j++) {
                dst[o + 2 + j] = (byte) (int) QuantMath.roundf(src[x + j] * id);
            }
        }
    }
}
