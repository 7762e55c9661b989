package io.stride.core.tensor.kernel;

import io.stride.core.tensor.format.Bytes;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Fused decode-and-dot kernels for the K-quant super-blocks (256 values) on 16-lane float vectors: 16 bytes
 * of packed values are unpacked with byte-lane shifts and masks, widened straight to floats and multiplied
 * with the activations; per-sub-block scales are applied with one FMA per 16 values.
 * (Byte-lane operations and a single B2F conversion keep every vector call statically bound for C2.)
 */
public final class KQuantDot {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    public static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private KQuantDot() {}

    /** Where {@link #q45k} and {@link #q6k} keep their two accumulators in {@code tmp} between chunks. */
    private static final int EVEN = 32, ODD = 48;

    /**
     * Q4_K (qhOff < 0) and Q5_K (high bits at qhOff within the block) dot product in the canonical order,
     * each value decoded exactly as {@link #q45kDequantize} does. {@code tmp} needs 64 floats.
     *
     * <p>No vector crosses a method call, the back edge of a loop that holds another loop, or the end of a branch: the
     * two accumulators wait in {@code tmp} between chunks of 64 values. The JIT boxes a vector that crosses such a
     * boundary when it does not inline the callee or cannot merge the boxes of a loop phi, depending on what it compiled
     * before (DecodeAllocationTest measures it in a fresh JVM per model).
     */
    public static float q45k(MemorySegment w, long offset, float[] x, int xOff, int n, int blockBytes, int qsOff, int qhOff, float[] tmp) {
        FloatVector zero = FloatVector.zero(F);
        zero.intoArray(tmp, EVEN);
        zero.intoArray(tmp, ODD);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + (long) blockBytes * b;
            float d = Float.float16ToFloat(w.get(Bytes.LE_SHORT, o));
            float dmin = Float.float16ToFloat(w.get(Bytes.LE_SHORT, o + 2));
            long sc = o + 4;
            int s0 = w.get(ValueLayout.JAVA_INT_UNALIGNED, sc);
            int s1 = w.get(ValueLayout.JAVA_INT_UNALIGNED, sc + 4);
            int s2 = w.get(ValueLayout.JAVA_INT_UNALIGNED, sc + 8);
            int xb = xOff + 256 * b;
            for (int p = 0; p < 4; p++) {
                float d1 = d * scale(s0, s1, s2, 2 * p), m1 = dmin * min(s0, s1, s2, 2 * p);
                float d2 = d * scale(s0, s1, s2, 2 * p + 1), m2 = dmin * min(s0, s1, s2, 2 * p + 1);
                if (qhOff >= 0) {
                    q5kChunk(w, o + qsOff + 32L * p, o + qhOff, 2 * p, d1, m1, d2, m2, x, xb + 64 * p, tmp);
                } else {
                    q4kChunk(w, o + qsOff + 32L * p, d1, m1, d2, m2, x, xb + 64 * p, tmp);
                }
            }
        }
        return sumAccumulators(tmp);
    }

    /**
     * 64 values of a Q4_K super-block (32 bytes of nibbles at {@code q}) times {@code x[xp ..]}, into the accumulators in
     * {@code tmp}: values 0-15 and 32-47 to the even one, 16-31 and 48-63 to the odd one. Straight-line code: a vector
     * merged at the end of a branch becomes a phi the JIT may box (the reason Q4_K and Q5_K have a method each).
     */
    private static void q4kChunk(MemorySegment w, long q, float d1, float m1, float d2, float m2, float[] x, int xp, float[] tmp) {
        ByteVector v0 = ByteVector.fromMemorySegment(B, w, q, LE);
        ByteVector v1 = ByteVector.fromMemorySegment(B, w, q + 16, LE);
        ByteVector lo0 = v0.and((byte) 0xF), lo1 = v1.and((byte) 0xF);
        // high nibbles: shift 32-bit lanes (x86 has no byte shift), then mask each byte
        ByteVector hi0 = v0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
        ByteVector hi1 = v1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
        FloatVector even = FloatVector.fromArray(F, tmp, EVEN), odd = FloatVector.fromArray(F, tmp, ODD);
        even = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).fma(FloatVector.fromArray(F, x, xp), even);
        odd = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).fma(FloatVector.fromArray(F, x, xp + 16), odd);
        even = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).fma(FloatVector.fromArray(F, x, xp + 32), even);
        odd = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).fma(FloatVector.fromArray(F, x, xp + 48), odd);
        even.intoArray(tmp, EVEN);
        odd.intoArray(tmp, ODD);
    }

    /** {@link #q4kChunk} for Q5_K: bits {@code bit} and {@code bit + 1} of the 32 bytes at {@code qh} are the values' fifth bits. */
    private static void q5kChunk(MemorySegment w, long q, long qh, int bit, float d1, float m1, float d2, float m2, float[] x, int xp,
                                 float[] tmp) {
        ByteVector v0 = ByteVector.fromMemorySegment(B, w, q, LE);
        ByteVector v1 = ByteVector.fromMemorySegment(B, w, q + 16, LE);
        // bit k of each byte moved to bit 4 of the same byte: (h >>> k) & 1 per byte, then << 4, in 32-bit lanes
        IntVector h0 = ByteVector.fromMemorySegment(B, w, qh, LE).reinterpretAsInts();
        IntVector h1 = ByteVector.fromMemorySegment(B, w, qh + 16, LE).reinterpretAsInts();
        ByteVector lo0 = v0.and((byte) 0xF)
                .or(h0.lanewise(VectorOperators.LSHR, bit).and(0x01010101).lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
        ByteVector lo1 = v1.and((byte) 0xF)
                .or(h1.lanewise(VectorOperators.LSHR, bit).and(0x01010101).lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
        ByteVector hi0 = v0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                .or(h0.lanewise(VectorOperators.LSHR, bit + 1).and(0x01010101).lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
        ByteVector hi1 = v1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                .or(h1.lanewise(VectorOperators.LSHR, bit + 1).and(0x01010101).lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
        FloatVector even = FloatVector.fromArray(F, tmp, EVEN), odd = FloatVector.fromArray(F, tmp, ODD);
        even = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).fma(FloatVector.fromArray(F, x, xp), even);
        odd = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).fma(FloatVector.fromArray(F, x, xp + 16), odd);
        even = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).fma(FloatVector.fromArray(F, x, xp + 32), even);
        odd = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).fma(FloatVector.fromArray(F, x, xp + 48), odd);
        even.intoArray(tmp, EVEN);
        odd.intoArray(tmp, ODD);
    }

    /** The lanes of the two accumulators in {@code tmp}, added (even + odd), summed in {@link VectorMath#sumLanes}' order. */
    private static float sumAccumulators(float[] tmp) {
        FloatVector.fromArray(F, tmp, EVEN).add(FloatVector.fromArray(F, tmp, ODD)).intoArray(tmp, 0);
        return VectorMath.sumLanes(tmp, 0);
    }

    /**
     * Q6_K dot product in the canonical order, each value decoded exactly as {@link #q6kDequantize} does. In each
     * half super-block the 16-value groups at {@code l0 = 0} are chunks 0, 2, 4, 6 (even), those at {@code l0 = 16}
     * chunks 1, 3, 5, 7 (odd). {@code tmp} needs 64 floats. As in {@link #q45k}, no vector crosses a call or a loop's
     * back edge: the accumulators wait in {@code tmp} from one half super-block to the next. The method stays small
     * (a loop over the two halves): written out, the JIT may leave its vector calls uninlined and box every vector.
     */
    public static float q6k(MemorySegment w, long offset, float[] x, int xOff, int n, float[] tmp) {
        FloatVector zero = FloatVector.zero(F);
        zero.intoArray(tmp, EVEN);
        zero.intoArray(tmp, ODD);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 210L * b;
            float d = Float.float16ToFloat(w.get(Bytes.LE_SHORT, o + 208));
            // the sixteen sub-block scales d * sc, converted in one go and broadcast from memory where used
            ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 192, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(tmp, 16);
            for (int half = 0; half < 2; half++) {
                long ql = o + 64L * half;
                long qh = o + 128 + 32L * half;
                int s = 16 + 8 * half;
                int xh = xOff + 256 * b + 128 * half;
                FloatVector even = FloatVector.fromArray(F, tmp, EVEN), odd = FloatVector.fromArray(F, tmp, ODD);
                {
                    ByteVector a = ByteVector.fromMemorySegment(B, w, ql, LE);
                    ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 32, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, w, qh, LE);
                    IntVector hi = h.reinterpretAsInts();
                    ByteVector hl4 = hi.lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes();
                    ByteVector hl2 = hi.lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes();
                    ByteVector hr2 = hi.lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
                    ByteVector a4 = a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
                    ByteVector c4 = c.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
                    ByteVector q1 = a.and((byte) 0x0F).or(hl4.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0x0F).or(hl2.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q3 = a4.and((byte) 0x0F).or(h.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = c4.and((byte) 0x0F).or(hr2.and((byte) 0x30)).sub((byte) 32);
                    even = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s]).fma(FloatVector.fromArray(F, x, xh), even);
                    even = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 2]).fma(FloatVector.fromArray(F, x, xh + 32), even);
                    even = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 4]).fma(FloatVector.fromArray(F, x, xh + 64), even);
                    even = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 6]).fma(FloatVector.fromArray(F, x, xh + 96), even);
                }
                {
                    ByteVector a = ByteVector.fromMemorySegment(B, w, ql + 16, LE);
                    ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 48, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, w, qh + 16, LE);
                    IntVector hi = h.reinterpretAsInts();
                    ByteVector hl4 = hi.lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes();
                    ByteVector hl2 = hi.lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes();
                    ByteVector hr2 = hi.lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
                    ByteVector a4 = a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
                    ByteVector c4 = c.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
                    ByteVector q1 = a.and((byte) 0x0F).or(hl4.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0x0F).or(hl2.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q3 = a4.and((byte) 0x0F).or(h.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = c4.and((byte) 0x0F).or(hr2.and((byte) 0x30)).sub((byte) 32);
                    odd = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 1]).fma(FloatVector.fromArray(F, x, xh + 16), odd);
                    odd = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 3]).fma(FloatVector.fromArray(F, x, xh + 48), odd);
                    odd = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 5]).fma(FloatVector.fromArray(F, x, xh + 80), odd);
                    odd = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 7]).fma(FloatVector.fromArray(F, x, xh + 112), odd);
                }
                even.intoArray(tmp, EVEN);
                odd.intoArray(tmp, ODD);
            }
        }
        return sumAccumulators(tmp);
    }

    /** Decodes Q6_K super-blocks into floats (bit-exact: (d * scale) * q, as ggml). */
    public static void q6kDequantize(MemorySegment w, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 210L * b;
            float d = Float.float16ToFloat(w.get(Bytes.LE_SHORT, o + 208));
            int yb = dstOff + 256 * b;
            for (int half = 0; half < 2; half++) {
                long ql = o + 64L * half;
                long qh = o + 128 + 32L * half;
                long s = o + 192 + 8L * half;
                int yh = yb + 128 * half;
                for (int l0 = 0; l0 < 32; l0 += 16) {
                    ByteVector a = ByteVector.fromMemorySegment(B, w, ql + l0, LE);
                    ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 32 + l0, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, w, qh + l0, LE);
                    IntVector hi = h.reinterpretAsInts();
                    int is = l0 / 16;
                    int yl = yh + l0;
                    // shifts of 32-bit lanes (x86 has no byte shift), masked per byte
                    ByteVector q1 = a.and((byte) 0xF).or(hi.lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0xF).or(hi.lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32);
                    ByteVector q3 = a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .or(h.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = c.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .or(hi.lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32);
                    ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is)).intoArray(dst, yl);
                    ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is + 2)).intoArray(dst, yl + 32);
                    ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is + 4)).intoArray(dst, yl + 64);
                    ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is + 6)).intoArray(dst, yl + 96);
                }
            }
        }
    }

    /** Decodes Q4_K (qhOff < 0) or Q5_K super-blocks into floats (bit-exact: d1 * q - m1, as ggml). */
    public static void q45kDequantize(MemorySegment w, long offset, float[] dst, int dstOff, int n, int blockBytes, int qsOff, int qhOff) {
        for (int b = 0; b < n / 256; b++) {
            long o = offset + (long) blockBytes * b;
            float d = Float.float16ToFloat(w.get(Bytes.LE_SHORT, o));
            float dmin = Float.float16ToFloat(w.get(Bytes.LE_SHORT, o + 2));
            long sc = o + 4;
            int s0 = w.get(ValueLayout.JAVA_INT_UNALIGNED, sc);
            int s1 = w.get(ValueLayout.JAVA_INT_UNALIGNED, sc + 4);
            int s2 = w.get(ValueLayout.JAVA_INT_UNALIGNED, sc + 8);
            int yb = dstOff + 256 * b;
            for (int p = 0; p < 4; p++) {
                long q = o + qsOff + 32L * p;
                float d1 = d * scale(s0, s1, s2, 2 * p), m1 = dmin * min(s0, s1, s2, 2 * p);
                float d2 = d * scale(s0, s1, s2, 2 * p + 1), m2 = dmin * min(s0, s1, s2, 2 * p + 1);
                for (int l0 = 0; l0 < 32; l0 += 16) {
                    // one method per format, so that no vector is merged at the end of a branch (see q4kChunk)
                    if (qhOff >= 0) {
                        q5kDequantizeChunk(w, q + l0, o + qhOff + l0, 2 * p, d1, m1, d2, m2, dst, yb + 64 * p + l0);
                    } else {
                        q4kDequantizeChunk(w, q + l0, d1, m1, d2, m2, dst, yb + 64 * p + l0);
                    }
                }
            }
        }
    }

    /** 16 bytes of Q4_K nibbles at {@code q}: the low ones to {@code dst[y ..]}, the high ones to {@code dst[y + 32 ..]}. */
    private static void q4kDequantizeChunk(MemorySegment w, long q, float d1, float m1, float d2, float m2, float[] dst, int y) {
        ByteVector v = ByteVector.fromMemorySegment(B, w, q, LE);
        ByteVector lo = v.and((byte) 0xF);
        ByteVector hi = v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
        ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).intoArray(dst, y);
        ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).intoArray(dst, y + 32);
    }

    /** {@link #q4kDequantizeChunk} for Q5_K, the fifth bits from bits {@code bit} and {@code bit + 1} of the 16 bytes at {@code qh}. */
    private static void q5kDequantizeChunk(MemorySegment w, long q, long qh, int bit, float d1, float m1, float d2, float m2, float[] dst,
                                           int y) {
        ByteVector v = ByteVector.fromMemorySegment(B, w, q, LE);
        IntVector h = ByteVector.fromMemorySegment(B, w, qh, LE).reinterpretAsInts();
        ByteVector lo = v.and((byte) 0xF)
                .or(h.lanewise(VectorOperators.LSHR, bit).and(0x01010101).lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
        ByteVector hi = v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                .or(h.lanewise(VectorOperators.LSHR, bit + 1).and(0x01010101).lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
        ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).intoArray(dst, y);
        ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).intoArray(dst, y + 32);
    }

    /** Byte {@code i} (0..11) of the scale bytes held little-endian in three ints. */
    private static int sb(int s0, int s1, int s2, int i) {
        int word = i < 4 ? s0 : i < 8 ? s1 : s2;
        return (word >>> (8 * (i & 3))) & 0xff;
    }

    private static int scale(int s0, int s1, int s2, int j) {
        return j < 4 ? sb(s0, s1, s2, j) & 63 : (sb(s0, s1, s2, j + 4) & 0x0f) | ((sb(s0, s1, s2, j - 4) >>> 6) << 4);
    }

    private static int min(int s0, int s1, int s2, int j) {
        return j < 4 ? sb(s0, s1, s2, j + 4) & 63 : (sb(s0, s1, s2, j + 4) >>> 4) | ((sb(s0, s1, s2, j) >>> 6) << 4);
    }
}
