package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.BlockKernels;
import io.stride.core.tensor.kernel.VectorMath;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Q8_0: blocks of 32 int8 with one f16 scale. */
public final class Q8_0Format implements QuantFormat, BlockKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    /** A block's low 16 values are an even chunk, its high 16 an odd one: each goes straight to its half. */
    @Override
    public void dequantizeForTiles(MemorySegment src, long offset, int n, MemorySegment panel, long panelOff, float[] tmp, int tmpOff) {
        if (!FAST || VectorMath.LANES != 16) {
            QuantFormat.super.dequantizeForTiles(src, offset, n, panel, panelOff, tmp, tmpOff);
            return;
        }
        dequantizeEvenFirstAt(src, offset, offset + 2, 34, tmp, tmpOff, n);
        MemorySegment.copy(tmp, tmpOff, panel, ValueLayout.JAVA_FLOAT, panelOff, n);
    }

    /**
     * The kernels below read a row whose block b has its f16 scale at byte {@code sc + b*stride} and its 32 quants at
     * {@code qs + b*stride}: {@code (offset, offset + 2, 34)} in the file's layout, other values in {@link Q8_0x4Format}'s.
     */
    @Override
    public void dequantizeEvenFirstAt(MemorySegment src, long sc, long qs, long stride, float[] dst, int dstOff, int n) {
        int odd = dstOff + VectorMath.evenLength(n);
        for (int b = 0; b < n / 32; b++) {
            long o = qs + stride * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(src.get(Bytes.LE_SHORT, sc + stride * b)));
            ((FloatVector) ByteVector.fromMemorySegment(B, src, o, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, dstOff + 16 * b);
            ((FloatVector) ByteVector.fromMemorySegment(B, src, o + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, odd + 16 * b);
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (FAST) {
            dequantizeAt(src, offset, offset + 2, 34, dst, dstOff, n);
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

    @Override
    public void dequantizeAt(MemorySegment src, long sc, long qs, long stride, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = qs + stride * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(src.get(Bytes.LE_SHORT, sc + stride * b)));
            int y = dstOff + 32 * b;
            ((FloatVector) ByteVector.fromMemorySegment(B, src, o, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y);
            ((FloatVector) ByteVector.fromMemorySegment(B, src, o + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y + 16);
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
        return dotAt(w, offset, offset + 2, 34, x, xOff, n, scratch);
    }

    @Override
    public float dotAt(MemorySegment w, long sc, long qs, long stride, float[] x, int xOff, int n, float[] scratch) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = qs + stride * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, sc + stride * b)));
            FloatVector lo = ((FloatVector) ByteVector.fromMemorySegment(B, w, o, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector hi = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
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
        dotTokensAt(w, offset, offset + 2, 34, x, xBase, xStride, count, n, out, outBase, outStride, scratch);
    }

    @Override
    public void dotTokensAt(MemorySegment w, long sc, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                            float[] out, int outBase, int outStride, float[] scratch) {
        for (int t = 0; t < count; ) {
            int c = Math.min(4, count - t);
            int xb = xBase + t * xStride, ob = outBase + t * outStride;
            if (c > 2) {
                dot4(w, sc, qs, stride, x, xb, xStride, c, n, out, ob, outStride, scratch);
            } else {
                dot2(w, sc, qs, stride, x, xb, xStride, c, n, out, ob, outStride, scratch);
            }
            t += c;
        }
    }

    private static void dot2(MemorySegment w, long sc, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                             float[] out, int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = qs + stride * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, sc + stride * b)));
            FloatVector lo = ((FloatVector) ByteVector.fromMemorySegment(B, w, o, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector hi = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
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

    private static void dot4(MemorySegment w, long sc, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                             float[] out, int outBase, int outStride, float[] scratch) {
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F), e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = qs + stride * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, sc + stride * b)));
            FloatVector lo = ((FloatVector) ByteVector.fromMemorySegment(B, w, o, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            FloatVector hi = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
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
