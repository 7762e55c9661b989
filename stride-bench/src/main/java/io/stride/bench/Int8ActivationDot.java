package io.stride.bench;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A reference for comparing kernels: ggml's integer q4_0 · q8_0 scheme written plainly with the Vector API, one
 * block at a time. The activation row is quantized once per product to 8-bit blocks of 32 (one float scale each,
 * values in [-127, 127], as ggml's {@code quantize_row_q8_0}); each weight block's integer dot product is formed in
 * 16-bit lanes (int8 × int8 fits in 16 bits), summed pairwise into 32-bit lanes, converted to float and scaled once
 * per block. The engine's integer Q4_0 kernels ({@code LaneKernels}) compute the same sums in lanes that run across
 * 32 blocks; {@link Int8ActivationBench} times this per-block form against the float kernels.
 * <p>
 * The Vector API has no byte or short dot-product instruction (AVX-512 VNNI's {@code vpdpbusd}/{@code vpdpwssd}, or
 * {@code vpmaddubsw}/{@code vpmaddwd}), so the products need widening, a 16-bit multiply and pairwise adds.
 */
final class Int8ActivationDot {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S512 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Int8ActivationDot() {}

    /** x (n a multiple of 64) into 8-bit values (kept as shorts, ready for 16-bit products) and one scale per 32. */
    static void quantize(float[] x, int n, short[] q, float[] scales) {
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
            float d = amax / 127;
            float id = d == 0 ? 0 : 1 / d;
            scales[b] = d;
            for (int j = 0; j < 32; j++) q[32 * b + j] = (short) Math.round(x[32 * b + j] * id);
        }
    }

    /** Q8_0 row (34-byte blocks) · quantized activations. */
    static float dotQ8_0(MemorySegment w, long offset, short[] q, float[] scales, int n) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b += 2) {
            long o = offset + 34L * b;
            even = ((FloatVector) blockQ8(w, o, q, 32 * b).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, o)) * scales[b]), even);
            long o2 = o + 34;
            odd = ((FloatVector) blockQ8(w, o2, q, 32 * b + 32).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, o2)) * scales[b + 1]), odd);
        }
        return even.add(odd).reduceLanes(VectorOperators.ADD);
    }

    /** 32 int8 × int8 products in 16-bit lanes, adjacent pairs summed into 16 ints (shifts instead of two widenings). */
    private static IntVector blockQ8(MemorySegment w, long o, short[] q, int qi) {
        ShortVector ws = (ShortVector) ByteVector.fromMemorySegment(B256, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, S512, 0);
        IntVector p = ws.mul(ShortVector.fromArray(S512, q, qi)).reinterpretAsInts();
        return p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16));
    }

    /** Q4_0 row (18-byte blocks, nibble - 8) · quantized activations: low and high nibbles' products summed in 16 bits. */
    static float dotQ4_0(MemorySegment w, long offset, short[] q, float[] scales, int n) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        ShortVector eight = ShortVector.broadcast(S256, (short) 8);
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 18L * b;
            ShortVector nib = (ShortVector) ByteVector.fromMemorySegment(B128, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S256, 0);
            ShortVector lo = nib.and((short) 15).sub(eight);
            ShortVector hi = nib.lanewise(VectorOperators.ASHR, 4).and((short) 15).sub(eight);
            ShortVector p = lo.mul(ShortVector.fromArray(S256, q, 32 * b)).add(hi.mul(ShortVector.fromArray(S256, q, 32 * b + 16)));
            FloatVector f = (FloatVector) p.convertShape(VectorOperators.S2F, F, 0);
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, o)) * scales[b]);
            if ((b & 1) == 0) {
                even = f.fma(d, even);
            } else {
                odd = f.fma(d, odd);
            }
        }
        return even.add(odd).reduceLanes(VectorOperators.ADD);
    }
}
