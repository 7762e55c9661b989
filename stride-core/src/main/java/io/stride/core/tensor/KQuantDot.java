package io.stride.core.tensor;

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
final class KQuantDot {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private KQuantDot() {}

    /** Every byte's high nibble (x86 has no byte shift: shift 32-bit lanes, then mask each byte). */
    static ByteVector shr4(ByteVector v) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0f);
    }

    /** Every byte shifted right by {@code n} (0..7) as unsigned, via 32-bit lanes and a byte mask. */
    static ByteVector shr(ByteVector v, int n) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes().and((byte) (0xff >>> n));
    }

    /** Every byte shifted left by 2 within 32-bit lanes; callers mask away what crosses byte boundaries. */
    static ByteVector shl2(ByteVector v) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes();
    }

    /** Every byte shifted right by 2 within 32-bit lanes; callers mask away what crosses byte boundaries. */
    static ByteVector shr2(ByteVector v) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
    }

    /** Every byte shifted left by 4 (low nibble moved up), via 32-bit lanes. */
    static ByteVector shl4(ByteVector v) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes();
    }

    /**
     * Q4_K (qhOff < 0) and Q5_K (high bits at qhOff within the block) dot product in the canonical order,
     * each value decoded exactly as {@link #q45kDequantize} does.
     */
    static float q45k(MemorySegment w, long offset, float[] x, int xOff, int n, int blockBytes, int qsOff, int qhOff, float[] tmp) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
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
                long q = o + qsOff + 32L * p;
                float d1 = d * scale(s0, s1, s2, 2 * p), m1 = dmin * min(s0, s1, s2, 2 * p);
                float d2 = d * scale(s0, s1, s2, 2 * p + 1), m2 = dmin * min(s0, s1, s2, 2 * p + 1);
                ByteVector v0 = ByteVector.fromMemorySegment(B, w, q, LE);
                ByteVector v1 = ByteVector.fromMemorySegment(B, w, q + 16, LE);
                ByteVector lo0 = v0.and((byte) 0xF), lo1 = v1.and((byte) 0xF);
                ByteVector hi0 = shr4(v0), hi1 = shr4(v1);
                if (qhOff >= 0) {
                    ByteVector h0 = ByteVector.fromMemorySegment(B, w, o + qhOff, LE);
                    ByteVector h1 = ByteVector.fromMemorySegment(B, w, o + qhOff + 16, LE);
                    lo0 = lo0.or(shl4(shr(h0, 2 * p).and((byte) 1)));
                    lo1 = lo1.or(shl4(shr(h1, 2 * p).and((byte) 1)));
                    hi0 = hi0.or(shl4(shr(h0, 2 * p + 1).and((byte) 1)));
                    hi1 = hi1.or(shl4(shr(h1, 2 * p + 1).and((byte) 1)));
                }
                int xp = xb + 64 * p;
                even = kStep(lo0, d1, m1, x, xp, even);
                odd = kStep(lo1, d1, m1, x, xp + 16, odd);
                even = kStep(hi0, d2, m2, x, xp + 32, even);
                odd = kStep(hi1, d2, m2, x, xp + 48, odd);
            }
        }
        even.add(odd).intoArray(tmp, 0);
        return VectorMath.sumLanes(tmp, 0);
    }

    private static FloatVector kStep(ByteVector q, float scale, float min, float[] x, int xi, FloatVector acc) {
        FloatVector v = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale).sub(min);
        return v.fma(FloatVector.fromArray(F, x, xi), acc);
    }

    /**
     * Q6_K dot product in the canonical order, each value decoded exactly as {@link #q6kDequantize} does. In each
     * half super-block the 16-value groups at {@code l0 = 0} are chunks 0, 2, 4, 6 (even), those at {@code l0 = 16}
     * chunks 1, 3, 5, 7 (odd). Byte shifts are written out in place (no vector crosses a method call).
     */
    static float q6k(MemorySegment w, long offset, float[] x, int xOff, int n, float[] tmp) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
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
                {
                    ByteVector a = ByteVector.fromMemorySegment(B, w, ql + 0, LE);
                    ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 32 + 0, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, w, qh + 0, LE);
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
                    even = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 0])
                            .fma(FloatVector.fromArray(F, x, xh + 0), even);
                    even = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 0 + 2])
                            .fma(FloatVector.fromArray(F, x, xh + 32 + 0), even);
                    even = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 0 + 4])
                            .fma(FloatVector.fromArray(F, x, xh + 64 + 0), even);
                    even = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 0 + 6])
                            .fma(FloatVector.fromArray(F, x, xh + 96 + 0), even);
                }
                {
                    ByteVector a = ByteVector.fromMemorySegment(B, w, ql + 16, LE);
                    ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 32 + 16, LE);
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
                    odd = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 1])
                            .fma(FloatVector.fromArray(F, x, xh + 16), odd);
                    odd = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 1 + 2])
                            .fma(FloatVector.fromArray(F, x, xh + 32 + 16), odd);
                    odd = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 1 + 4])
                            .fma(FloatVector.fromArray(F, x, xh + 64 + 16), odd);
                    odd = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0)).mul(tmp[s + 1 + 6])
                            .fma(FloatVector.fromArray(F, x, xh + 96 + 16), odd);
                }
            }
        }
        even.add(odd).intoArray(tmp, 0);
        return VectorMath.sumLanes(tmp, 0);
    }

    /** Decodes Q6_K super-blocks into floats (bit-exact: (d * scale) * q, as ggml). */
    static void q6kDequantize(MemorySegment w, long offset, float[] dst, int dstOff, int n) {
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
                    int is = l0 / 16;
                    int yl = yh + l0;
                    ByteVector q1 = a.and((byte) 0xF).or(shl4(h.and((byte) 3))).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0xF).or(shl2(h).and((byte) 0x30)).sub((byte) 32);
                    ByteVector q3 = shr4(a).or(h.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = shr4(c).or(shr2(h).and((byte) 0x30)).sub((byte) 32);
                    ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is)).intoArray(dst, yl);
                    ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is + 2)).intoArray(dst, yl + 32);
                    ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is + 4)).intoArray(dst, yl + 64);
                    ((FloatVector) q4.convertShape(VectorOperators.B2F, F, 0)).mul(d * w.get(ValueLayout.JAVA_BYTE, s + is + 6)).intoArray(dst, yl + 96);
                }
            }
        }
    }

    /** Decodes Q4_K (qhOff < 0) or Q5_K super-blocks into floats (bit-exact: d1 * q - m1, as ggml). */
    static void q45kDequantize(MemorySegment w, long offset, float[] dst, int dstOff, int n, int blockBytes, int qsOff, int qhOff) {
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
                int yp = yb + 64 * p;
                for (int l0 = 0; l0 < 32; l0 += 16) {
                    ByteVector v = ByteVector.fromMemorySegment(B, w, q + l0, LE);
                    ByteVector lo = v.and((byte) 0xF);
                    ByteVector hi = shr4(v);
                    if (qhOff >= 0) {
                        ByteVector h = ByteVector.fromMemorySegment(B, w, o + qhOff + l0, LE);
                        lo = lo.or(shl4(shr(h, 2 * p).and((byte) 1)));
                        hi = hi.or(shl4(shr(h, 2 * p + 1).and((byte) 1)));
                    }
                    ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).intoArray(dst, yp + l0);
                    ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2).intoArray(dst, yp + 32 + l0);
                }
            }
        }
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
