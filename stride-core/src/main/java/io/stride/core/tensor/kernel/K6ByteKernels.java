package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.Q6KBytesFormat;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The kernels of the integer products of {@link Q6KBytesFormat} weights: element e of 32 blocks is 32 signed bytes
 * q − 32, widened to 16-bit lanes by one sign-extending conversion and multiplied by the raw activations (element e of
 * the same 32 blocks, {@link Q8Activations#q}). Decode sums quarters of a block (elements 8k..8k + 7) in 16 bits
 * (8·32·127 &lt; 2^15), which are the tiles' quarter sums ({@link K6LaneKernels#tileSums}): the same integers T, scaled by
 * {@link K6LaneKernels#flush}, so every path gives the bits of the Q6_K integer product.
 */
public final class K6ByteKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(F, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private K6ByteKernels() {}

    /**
     * A record's four rows times one token's lane group: row j's quarter sums (elements 0..7, 8..15, 16..23, 24..31 of
     * each block) into {@code acc[128j]}, {@code [128j + 32]}, {@code [128j + 64]}, {@code [128j + 96]}; the activations'
     * element e at {@code x[xo + 32e ..]}.
     */
    static void rows4(MemorySegment w, long record, short[] x, int xo, short[] acc) {
        for (int k = 0; k < 4; k++) quarter4(w, record, x, xo, k, acc);
    }

    private static void quarter4(MemorySegment w, long record, short[] x, int xo, int k, short[] acc) {
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int e = 8 * k; e < 8 * k + 8; e++) {
            ShortVector v = ShortVector.fromArray(S, x, xo + 32 * e);
            long o = Q6KBytesFormat.element(record, 0, e);
            a0 = a0.add(((ShortVector) ByteVector.fromMemorySegment(B, w, o, LE).convertShape(VectorOperators.B2S, S, 0)).mul(v));
            a1 = a1.add(((ShortVector) ByteVector.fromMemorySegment(B, w, o + 32, LE).convertShape(VectorOperators.B2S, S, 0)).mul(v));
            a2 = a2.add(((ShortVector) ByteVector.fromMemorySegment(B, w, o + 64, LE).convertShape(VectorOperators.B2S, S, 0)).mul(v));
            a3 = a3.add(((ShortVector) ByteVector.fromMemorySegment(B, w, o + 96, LE).convertShape(VectorOperators.B2S, S, 0)).mul(v));
        }
        a0.intoArray(acc, 32 * k);
        a1.intoArray(acc, 128 + 32 * k);
        a2.intoArray(acc, 256 + 32 * k);
        a3.intoArray(acc, 384 + 32 * k);
    }

    /** One row of a lane group widened for the tiles: q − 32 of element e of block l at {@code panel[po + 32e + l]}. */
    static void decode(MemorySegment w, long record, int j, short[] panel, int po) {
        for (int e = 0; e < 32; e++) {
            ((ShortVector) ByteVector.fromMemorySegment(B, w, Q6KBytesFormat.element(record, j, e), LE).convertShape(VectorOperators.B2S, S, 0))
                    .intoArray(panel, po + 32 * e);
        }
    }

    /**
     * Decode's scale step for a record's four rows and one token: per row, T of each sub-block from its two quarter sums
     * ({@code acc} as {@link #rows4} left it), I = Σ sc·T and {@code facc[16j ..] = fma(float(I), d·xd, facc)}: the
     * integers and float operations of {@link K6LaneKernels#tileSums} and {@link K6LaneKernels#flush}, written out in one
     * method so that nothing goes through memory between them.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, float[] xs, int xo, float[] facc) {
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        for (int j = 0; j < 4; j++) {
            long sec = Q6KBytesFormat.section(record, j);
            int ao = 128 * j;
            IntVector q0 = ShortVector.fromArray(S, acc, ao).reinterpretAsInts(), q1 = ShortVector.fromArray(S, acc, ao + 32).reinterpretAsInts();
            IntVector q2 = ShortVector.fromArray(S, acc, ao + 64).reinterpretAsInts(), q3 = ShortVector.fromArray(S, acc, ao + 96).reinterpretAsInts();
            IntVector tae = q0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(q1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            IntVector tao = q0.lanewise(VectorOperators.ASHR, 16).add(q1.lanewise(VectorOperators.ASHR, 16));
            IntVector tbe = q2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(q3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            IntVector tbo = q2.lanewise(VectorOperators.ASHR, 16).add(q3.lanewise(VectorOperators.ASHR, 16));
            IntVector i = tae.mul((IntVector) ByteVector.fromMemorySegment(B16, w, sec + 8, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(tao.mul((IntVector) ByteVector.fromMemorySegment(B16, w, sec + 24, LE).convertShape(VectorOperators.B2I, I, 0)))
                    .add(tbe.mul((IntVector) ByteVector.fromMemorySegment(B16, w, sec + 40, LE).convertShape(VectorOperators.B2I, I, 0)))
                    .add(tbo.mul((IntVector) ByteVector.fromMemorySegment(B16, w, sec + 56, LE).convertShape(VectorOperators.B2I, I, 0)));
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector hm = h.and(HalfScales.MAGNITUDE_4), hs = HalfScales.ONE.sub(hm.lanewise(VectorOperators.LSHR, 10).min(1)); // HalfScales.toFloats, written out
            FloatVector dw = hm.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(hs.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                    .sub(hs.neg().and(113 << 23).reinterpretAsFloats()).reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().rearrange(D);
            ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(dw.mul(xe), FloatVector.fromArray(F, facc, 16 * j)).intoArray(facc, 16 * j);
        }
    }
}
