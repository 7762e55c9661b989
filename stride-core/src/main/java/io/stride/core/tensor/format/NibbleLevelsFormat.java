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

/**
 * Blocks of 32 values: an f16 scale d and 16 bytes of 4-bit codes (low nibbles the first 16 values, high nibbles the
 * last 16), code c standing for {@code levels[c] · d}: Q4_0 (levels c − 8) and IQ4_NL (its non-linear levels). The
 * kernels look each code up in the 16 levels times d (one vector), so both formats share them.
 */
public abstract class NibbleLevelsFormat implements QuantFormat, BlockKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;
    private final GgmlType type;
    /** the value of each of the 16 codes, before the block's scale */
    private final float[] levels;
    /** block scales stored as f32 (a load-time layout) rather than the files' f16 */
    private final boolean f32Scales;

    protected NibbleLevelsFormat(GgmlType type, float[] levels) {
        this(type, levels, false);
    }

    protected NibbleLevelsFormat(GgmlType type, float[] levels, boolean f32Scales) {
        this.type = type;
        this.levels = levels.clone();
        this.f32Scales = f32Scales;
    }

    /**
     * Where the row at {@code offset} (a whole row of {@code n} values, addressed as in the file) keeps its first block's
     * scale; its quants follow {@link #quantsOffset} bytes later, the next block {@link #blockStride} bytes on. The
     * file's layout: (offset, 2, 18).
     */
    protected long scalesAt(long offset, int n) {
        return offset;
    }

    protected int quantsOffset() {
        return 2;
    }

    protected int blockStride() {
        return 18;
    }

    /** The block scale at byte {@code at}: f32 or f16 as the layout stores it. */
    private static float scale(MemorySegment w, long at, boolean f32) {
        return f32 ? w.get(Bytes.LE_FLOAT, at) : Float.float16ToFloat(w.get(Bytes.LE_SHORT, at));
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    /** The 16 levels (a copy). */
    public final float[] levels() {
        return levels.clone();
    }

    /** A block's low 16 values are an even chunk, its high 16 an odd one: each goes straight to its half. */
    @Override
    public void dequantizeForTiles(MemorySegment src, long offset, int n, MemorySegment panel, long panelOff, float[] tmp, int tmpOff) {
        if (!FAST || VectorMath.LANES != 16) {
            QuantFormat.super.dequantizeForTiles(src, offset, n, panel, panelOff, tmp, tmpOff);
            return;
        }
        long o = scalesAt(offset, n);
        dequantizeEvenFirstAt(src, o, o + quantsOffset(), blockStride(), tmp, tmpOff, n);
        MemorySegment.copy(tmp, tmpOff, panel, ValueLayout.JAVA_FLOAT, panelOff, n);
    }

    /**
     * The kernels below read a row whose block b has its f16 scale at byte {@code s + b*stride} and its 16 quant bytes at
     * {@code q + b*stride}: {@code (offset, offset + 2, 18)} in the file's layout, other values in {@link io.stride.core.tensor.repack.NibbleLevelsX4Format}'s.
     */
    @Override
    public void dequantizeEvenFirstAt(MemorySegment src, long s, long qs, long stride, float[] dst, int dstOff, int n) {
        FloatVector lv = FloatVector.fromArray(F, levels, 0);
        int odd = dstOff + VectorMath.evenLength(n);
        for (int b = 0; b < n / 32; b++) {
            IntVector table = lv.mul(scale(src, s + stride * b, f32Scales)).reinterpretAsInts();
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, qs + stride * b, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            q.and(15).selectFrom(table).reinterpretAsFloats().intoArray(dst, dstOff + 16 * b);
            q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().intoArray(dst, odd + 16 * b);
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        long at = scalesAt(offset, n);
        if (FAST) {
            dequantizeAt(src, at, at + quantsOffset(), blockStride(), dst, dstOff, n);
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long o = at + (long) blockStride() * b;
            float d = scale(src, o, f32Scales);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + quantsOffset() + j);
                dst[y + j] = levels[q & 0x0f] * d;
                dst[y + j + 16] = levels[q >>> 4] * d;
            }
        }
    }

    @Override
    public void dequantizeAt(MemorySegment src, long s, long qs, long stride, float[] dst, int dstOff, int n) {
        FloatVector lv = FloatVector.fromArray(F, levels, 0);
        for (int b = 0; b < n / 32; b++) {
            // level · d for all 16 codes, looked up by each lane's low four bits
            IntVector table = lv.mul(scale(src, s + stride * b, f32Scales)).reinterpretAsInts();
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
        long o = scalesAt(offset, n);
        return dotAt(w, o, o + quantsOffset(), blockStride(), x, xOff, n, scratch);
    }

    @Override
    public float dotAt(MemorySegment w, long s, long qs, long stride, float[] x, int xOff, int n, float[] scratch) {
        FloatVector lv = FloatVector.fromArray(F, levels, 0);
        boolean f32 = f32Scales;
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            // level · d for all 16 codes, then looked up by each lane's low four bits
            IntVector table = lv.mul(scale(w, s + stride * b, f32)).reinterpretAsInts();
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
        long o = scalesAt(offset, n);
        dotTokensAt(w, o, o + quantsOffset(), blockStride(), x, xBase, xStride, count, n, out, outBase, outStride, scratch);
    }

    @Override
    public void dotTokensAt(MemorySegment w, long s, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                            float[] out, int outBase, int outStride, float[] scratch) {
        for (int t = 0; t < count; ) {
            int c = Math.min(4, count - t);
            int xb = xBase + t * xStride, ob = outBase + t * outStride;
            if (c > 2) {
                dot4(levels, f32Scales, w, s, qs, stride, x, xb, xStride, c, n, out, ob, outStride, scratch);
            } else {
                dot2(levels, f32Scales, w, s, qs, stride, x, xb, xStride, c, n, out, ob, outStride, scratch);
            }
            t += c;
        }
    }

    private static void dot2(float[] levels, boolean f32, MemorySegment w, long s, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                             float[] out, int outBase, int outStride, float[] scratch) {
        FloatVector lv = FloatVector.fromArray(F, levels, 0);
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            // level · d for all 16 codes, then looked up by each lane's low four bits
            IntVector table = lv.mul(scale(w, s + stride * b, f32)).reinterpretAsInts();
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

    private static void dot4(float[] levels, boolean f32, MemorySegment w, long s, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                             float[] out, int outBase, int outStride, float[] scratch) {
        FloatVector lv = FloatVector.fromArray(F, levels, 0);
        int x0 = xBase + Math.min(0, count - 1) * xStride;
        int x1 = xBase + Math.min(1, count - 1) * xStride;
        int x2 = xBase + Math.min(2, count - 1) * xStride;
        int x3 = xBase + Math.min(3, count - 1) * xStride;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F), e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            // level · d for all 16 codes, then looked up by each lane's low four bits
            IntVector table = lv.mul(scale(w, s + stride * b, f32)).reinterpretAsInts();
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
}
