package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.VectorMath;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Q2_K: super-blocks of 256 values in 16 groups of 16, two bits each; per group a 4-bit scale and a 4-bit min
 * (low and high nibble of one byte), times the super-block's f16 {@code d} and {@code dmin}. Layout: 16 scale bytes,
 * 64 bytes of 2-bit values (four values per byte, one per bit pair, 32 bytes per half of 128), d, dmin.
 * Decoded as ggml's {@code dequantize_row_q2_K}.
 *
 * <p>The vector kernels take each group of 16 as one 16-lane chunk: the four values a 2-bit code can stand for,
 * {@code dl·k − ml} (rounded as the scalar decoding rounds them), looked up by each lane's code. The dot product
 * adds the chunks in the canonical order of {@link VectorMath#dot}, so it has the bits of decoding then dotting.
 */
public final class Q2KFormat implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16 && VectorMath.LANES == 16;
    /** the code values 0..3 (the other lanes unused) */
    private static final float[] CODES = {0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (FAST) {
            FloatVector codes = FloatVector.fromArray(F, CODES, 0);
            for (int b = 0; b < n / 256; b++) {
                long o = offset + 84L * b;
                float d = Bytes.f16(src, o + 80);
                float min = Bytes.f16(src, o + 82);
                int y = dstOff + 256 * b;
                int is = 0;
                for (int half = 0; half < 2; half++) {
                    for (int g = 0; g < 2; g++) {
                        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, o + 16 + 32L * half + 16 * g, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                        // the four bit pairs with constant shift counts (a variable count is not compiled to a vector shift)
                        long sc = src.get(Bytes.LE_LONG, o + is);
                        int s0 = (int) (sc >>> (8 * g)) & 0xFF;
                        q.and(3).selectFrom(codes.mul(d * (s0 & 0xF)).sub(min * (s0 >>> 4)).reinterpretAsInts())
                                .reinterpretAsFloats().intoArray(dst, y + 128 * half + 0 + 16 * g);
                        int s1 = (int) (sc >>> (8 * (2 + g))) & 0xFF;
                        q.lanewise(VectorOperators.LSHR, 2).and(3).selectFrom(codes.mul(d * (s1 & 0xF)).sub(min * (s1 >>> 4)).reinterpretAsInts())
                                .reinterpretAsFloats().intoArray(dst, y + 128 * half + 32 + 16 * g);
                        int s2 = (int) (sc >>> (8 * (4 + g))) & 0xFF;
                        q.lanewise(VectorOperators.LSHR, 4).and(3).selectFrom(codes.mul(d * (s2 & 0xF)).sub(min * (s2 >>> 4)).reinterpretAsInts())
                                .reinterpretAsFloats().intoArray(dst, y + 128 * half + 64 + 16 * g);
                        int s3 = (int) (sc >>> (8 * (6 + g))) & 0xFF;
                        q.lanewise(VectorOperators.LSHR, 6).and(3).selectFrom(codes.mul(d * (s3 & 0xF)).sub(min * (s3 >>> 4)).reinterpretAsInts())
                                .reinterpretAsFloats().intoArray(dst, y + 128 * half + 96 + 16 * g);
                    }
                    is += 8;
                }
            }
            return;
        }
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 84L * b;
            float d = Bytes.f16(src, o + 80);
            float min = Bytes.f16(src, o + 82);
            int y = dstOff + 256 * b;
            int is = 0;
            for (int half = 0; half < 2; half++) {
                long q = o + 16 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int g = 0; g < 2; g++) {
                        int sc = Bytes.u8(src, o + is++);
                        float dl = d * (sc & 0xF);
                        float ml = min * (sc >>> 4);
                        for (int l = 0; l < 16; l++) {
                            dst[y++] = dl * ((Bytes.u8(src, q + 16 * g + l) >>> shift) & 3) - ml;
                        }
                    }
                }
            }
        }
    }

    /**
     * Canonical order: chunk c (values 16c .. 16c+15 of the decoded row, one group) into the even accumulator when c is
     * even, the odd one otherwise; group (half, j, g) is chunk 8·half + 2·j + g of its super-block, so g picks the
     * accumulator.
     */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        if (!FAST) return QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
        FloatVector codes = FloatVector.fromArray(F, CODES, 0);
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 84L * b;
            float d = Bytes.f16(w, o + 80);
            float min = Bytes.f16(w, o + 82);
            int xb = xOff + 256 * b;
            for (int half = 0; half < 2; half++) {
                long qs = o + 16 + 32L * half;
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(B, w, qs, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector q1 = (IntVector) ByteVector.fromMemorySegment(B, w, qs + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                // the four bit pairs with constant shift counts: a variable count is not compiled to a vector shift
                // the half's eight scale bytes in one read (single-byte segment reads are not inlined here)
                long sc = w.get(Bytes.LE_LONG, o + 8L * half);
                int xi = xb + 128 * half;
                int s0 = (int) (sc >>> 0) & 0xFF;
                IntVector t0 = codes.mul(d * (s0 & 0xF)).sub(min * (s0 >>> 4)).reinterpretAsInts();
                FloatVector e0 = q0.and(3).selectFrom(t0).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 0), even);
                int s1 = (int) (sc >>> 8) & 0xFF;
                IntVector t1 = codes.mul(d * (s1 & 0xF)).sub(min * (s1 >>> 4)).reinterpretAsInts();
                FloatVector o0 = q1.and(3).selectFrom(t1).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 16), odd);
                int s2 = (int) (sc >>> 16) & 0xFF;
                IntVector t2 = codes.mul(d * (s2 & 0xF)).sub(min * (s2 >>> 4)).reinterpretAsInts();
                FloatVector e1 = q0.lanewise(VectorOperators.LSHR, 2).and(3).selectFrom(t2).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 32), e0);
                int s3 = (int) (sc >>> 24) & 0xFF;
                IntVector t3 = codes.mul(d * (s3 & 0xF)).sub(min * (s3 >>> 4)).reinterpretAsInts();
                FloatVector o1 = q1.lanewise(VectorOperators.LSHR, 2).and(3).selectFrom(t3).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 48), o0);
                int s4 = (int) (sc >>> 32) & 0xFF;
                IntVector t4 = codes.mul(d * (s4 & 0xF)).sub(min * (s4 >>> 4)).reinterpretAsInts();
                FloatVector e2 = q0.lanewise(VectorOperators.LSHR, 4).and(3).selectFrom(t4).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 64), e1);
                int s5 = (int) (sc >>> 40) & 0xFF;
                IntVector t5 = codes.mul(d * (s5 & 0xF)).sub(min * (s5 >>> 4)).reinterpretAsInts();
                FloatVector o2 = q1.lanewise(VectorOperators.LSHR, 4).and(3).selectFrom(t5).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 80), o1);
                int s6 = (int) (sc >>> 48) & 0xFF;
                IntVector t6 = codes.mul(d * (s6 & 0xF)).sub(min * (s6 >>> 4)).reinterpretAsInts();
                even = q0.lanewise(VectorOperators.LSHR, 6).and(3).selectFrom(t6).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 96), e2);
                int s7 = (int) (sc >>> 56) & 0xFF;
                IntVector t7 = codes.mul(d * (s7 & 0xF)).sub(min * (s7 >>> 4)).reinterpretAsInts();
                odd = q1.lanewise(VectorOperators.LSHR, 6).and(3).selectFrom(t7).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 112), o2);
            }
        }
        even.add(odd).intoArray(scratch, 0);
        return VectorMath.lane16(scratch, 0);
    }
}
