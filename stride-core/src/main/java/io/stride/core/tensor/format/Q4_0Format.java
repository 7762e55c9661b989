package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.BlockKernels;
import io.stride.core.tensor.kernel.VectorMath;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Q4_0: blocks of 32 nibbles (low nibbles first half, high nibbles second half), offset 8, one f16 scale. */
public final class Q4_0Format implements QuantFormat, BlockKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    /** nibble value n stands for n - 8 */
    public static final FloatVector NIBBLES = FloatVector.fromArray(F, new float[] {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}, 0);
    static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    /** A block's low 16 values are an even chunk, its high 16 an odd one: each goes straight to its half. */
    @Override
    public void dequantizeForTiles(MemorySegment src, long offset, int n, MemorySegment panel, long panelOff, float[] tmp, int tmpOff) {
        if (!FAST || VectorMath.LANES != 16) {
            QuantFormat.super.dequantizeForTiles(src, offset, n, panel, panelOff, tmp, tmpOff);
            return;
        }
        dequantizeEvenFirstAt(src, offset, offset + 2, 18, tmp, tmpOff, n);
        MemorySegment.copy(tmp, tmpOff, panel, ValueLayout.JAVA_FLOAT, panelOff, n);
    }

    /**
     * The kernels below read a row whose block b has its f16 scale at byte {@code s + b*stride} and its 16 quant bytes at
     * {@code q + b*stride}: {@code (offset, offset + 2, 18)} in the file's layout, other values in {@link Q4_0x4Format}'s.
     */
    @Override
    public void dequantizeEvenFirstAt(MemorySegment src, long s, long qs, long stride, float[] dst, int dstOff, int n) {
        int odd = dstOff + VectorMath.evenLength(n);
        for (int b = 0; b < n / 32; b++) {
            IntVector table = NIBBLES.mul(Float.float16ToFloat(src.get(Bytes.LE_SHORT, s + stride * b))).reinterpretAsInts();
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, qs + stride * b, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            q.and(15).selectFrom(table).reinterpretAsFloats().intoArray(dst, dstOff + 16 * b);
            q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().intoArray(dst, odd + 16 * b);
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (FAST) {
            dequantizeAt(src, offset, offset + 2, 18, dst, dstOff, n);
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 18L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 2 + j);
                dst[y + j] = ((q & 0x0f) - 8) * d;
                dst[y + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    @Override
    public void dequantizeAt(MemorySegment src, long s, long qs, long stride, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            // (nibble - 8) * d for all 16 nibble values, looked up by each lane's low four bits
            IntVector table = NIBBLES.mul(Float.float16ToFloat(src.get(Bytes.LE_SHORT, s + stride * b))).reinterpretAsInts();
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, qs + stride * b, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            int y = dstOff + 32 * b;
            q.and(15).selectFrom(table).reinterpretAsFloats().intoArray(dst, y);
            q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().intoArray(dst, y + 16);
        }
    }

    /**
     * Canonical order (see {@link VectorMath#dot(float[], int, float[], int, int, float[], int)}): each value decoded as in
     * {@link #dequantize}; a block's low 16 values are an even chunk, its high 16 an odd one.
     */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        if (!FAST) {
            return QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
        }
        return dotAt(w, offset, offset + 2, 18, x, xOff, n, scratch);
    }

    @Override
    public float dotAt(MemorySegment w, long s, long qs, long stride, float[] x, int xOff, int n, float[] scratch) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            // (nibble - 8) * d for all 16 nibbles, then looked up by each lane's low four bits
            IntVector table = NIBBLES.mul(Float.float16ToFloat(w.get(Bytes.LE_SHORT, s + stride * b))).reinterpretAsInts();
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, w, qs + stride * b, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            FloatVector lo = q.and(15).selectFrom(table).reinterpretAsFloats();
            FloatVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats();
            int xi = xOff + 32 * b;
            even = lo.fma(FloatVector.fromArray(F, x, xi), even);
            odd = hi.fma(FloatVector.fromArray(F, x, xi + 16), odd);
        }
        even.add(odd).intoArray(scratch, 0);
        return VectorMath.lane16(scratch, 0);
    }

    /** Up to three tokens the fused kernels; from four the register tiles are faster (docs/performance-notes.md). */
    @Override
    public int fusedTokens() {
        return FAST ? 3 : 0;
    }

    /**
     * Up to four tokens at once (in groups of 2 or 4 pairs of accumulators): each block decoded once per group;
     * every output has exactly the bits of {@link #dot}.
     */
    @Override
    public void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                          int outStride, float[] scratch) {
        if (!FAST) {
            QuantFormat.super.dotTokens(w, offset, x, xBase, xStride, count, n, out, outBase, outStride, scratch);
            return;
        }
        dotTokensAt(w, offset, offset + 2, 18, x, xBase, xStride, count, n, out, outBase, outStride, scratch);
    }

    @Override
    public void dotTokensAt(MemorySegment w, long s, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                            float[] out, int outBase, int outStride, float[] scratch) {
        for (int t = 0; t < count; ) {
            int c = Math.min(4, count - t);
            int xb = xBase + t * xStride, ob = outBase + t * outStride;
            if (c > 2) {
                dot4(w, s, qs, stride, x, xb, xStride, c, n, out, ob, outStride, scratch);
            } else {
                dot2(w, s, qs, stride, x, xb, xStride, c, n, out, ob, outStride, scratch);
            }
            t += c;
        }
    }

    private static void dot2(MemorySegment w, long s, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                             float[] out, int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            // (nibble - 8) * d for all 16 nibbles, then looked up by each lane's low four bits
            IntVector table = NIBBLES.mul(Float.float16ToFloat(w.get(Bytes.LE_SHORT, s + stride * b))).reinterpretAsInts();
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, w, qs + stride * b, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            FloatVector lo = q.and(15).selectFrom(table).reinterpretAsFloats();
            FloatVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats();
            int k = 32 * b;
            e0 = lo.fma(FloatVector.fromArray(F, x, x0 + k), e0);
            o0 = hi.fma(FloatVector.fromArray(F, x, x0 + k + 16), o0);
            e1 = lo.fma(FloatVector.fromArray(F, x, x1 + k), e1);
            o1 = hi.fma(FloatVector.fromArray(F, x, x1 + k + 16), o1);
        }
        e0.add(o0).intoArray(scratch, 0);
        e1.add(o1).intoArray(scratch, 16);
        VectorMath.lane16Rows(scratch, count, out, outBase, outStride);
    }

    private static void dot4(MemorySegment w, long s, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                             float[] out, int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F), e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            // (nibble - 8) * d for all 16 nibbles, then looked up by each lane's low four bits
            IntVector table = NIBBLES.mul(Float.float16ToFloat(w.get(Bytes.LE_SHORT, s + stride * b))).reinterpretAsInts();
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, w, qs + stride * b, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            FloatVector lo = q.and(15).selectFrom(table).reinterpretAsFloats();
            FloatVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats();
            int k = 32 * b;
            e0 = lo.fma(FloatVector.fromArray(F, x, x0 + k), e0);
            o0 = hi.fma(FloatVector.fromArray(F, x, x0 + k + 16), o0);
            e1 = lo.fma(FloatVector.fromArray(F, x, x1 + k), e1);
            o1 = hi.fma(FloatVector.fromArray(F, x, x1 + k + 16), o1);
            e2 = lo.fma(FloatVector.fromArray(F, x, x2 + k), e2);
            o2 = hi.fma(FloatVector.fromArray(F, x, x2 + k + 16), o2);
            e3 = lo.fma(FloatVector.fromArray(F, x, x3 + k), e3);
            o3 = hi.fma(FloatVector.fromArray(F, x, x3 + k + 16), o3);
        }
        e0.add(o0).intoArray(scratch, 0);
        e1.add(o1).intoArray(scratch, 16);
        e2.add(o2).intoArray(scratch, 32);
        e3.add(o3).intoArray(scratch, 48);
        VectorMath.lane16Rows(scratch, count, out, outBase, outStride);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        for (int b = 0; b < n / 32; b++) {
            int x = srcOff + 32 * b;
            int o = dstOff + 18 * b;
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            QuantMath.putHalf(dst, o, d);
            for (int j = 0; j < 16; j++) {
                float x0 = src[x + j] * id;
                float x1 = src[x + 16 + j] * id;
                int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
                int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
                dst[o + 2 + j] = (byte) (xi0 | (xi1 << 4));
            }
        }
    }
}
