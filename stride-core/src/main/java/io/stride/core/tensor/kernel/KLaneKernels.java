package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.Q4KLanesFormat;
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
 * The scale steps of the integer products of {@link Q4KLanesFormat} and {@link io.stride.core.tensor.repack.Q5KLanesFormat}
 * weights (the 16-bit block sums come from {@link LaneKernels#rows4} and the tiles, as for Q4_0). A sub-block's value is
 * d·sc·q − dmin·m, so its dot with a block of 8-bit activations (super-block scale xd, sum Σx, {@code s8} = 8·Σx) is
 * xd·(d·sc·T − dmin·m·Σx) with T = Σ q·x = (the kernel's Σ (q − 8)·x) + s8, an exact integer. Lane k of sixteen holds
 * sub-blocks 2k and 2k + 1 (one super-block).
 * <p>Q4_K's scale step ({@link #flushQ4K}), as llama.cpp's q4_K · q8_K dot sums a super-block: the exact integers
 * I = Σ sc·T and M = Σ m·Σx over the lane's two sub-blocks, then {@code acc = fma(float(I), d·xd, acc);
 * acc = fma(float(−M), dmin·xd, acc)}, scales from {@link #intScales}; Q5_K's ({@link K5LaneKernels#flush}) likewise
 * with T including the fifth bits. Every path of a type takes the same operations, so
 * decode and the tiles give each output the same bits. Vectors pass between methods through arrays (see {@link LaneKernels}).
 */
public final class KLaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section), or its dmin (lanes 4..7) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(F, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final VectorShuffle<Float> DMIN = VectorShuffle.fromValues(F, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    private KLaneKernels() {}

    /**
     * A Q4_K or Q5_K row's scales for one lane group, from its scale section at {@code sec}: d and dmin of lane k's super-block
     * into {@code dd[ddo + k]} and {@code dd[ddo + 16 + k]}; the 6-bit sc of the even and odd sub-blocks and m of the
     * even and odd sub-blocks into {@code sc[so ..]}, {@code [so + 16 ..]}, {@code [so + 32 ..]}, {@code [so + 48 ..]}.
     */
    static void intScales(MemorySegment w, long sec, float[] dd, int ddo, int[] sc, int so) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector hm = h.and(HalfScales.MAGNITUDE_8), hs = HalfScales.ONE.sub(hm.lanewise(VectorOperators.LSHR, 10).min(1)); // HalfScales.toFloats, written out
        FloatVector v = hm.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(hs.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                .sub(hs.neg().and(113 << 23).reinterpretAsFloats()).reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
        v.rearrange(D).intoArray(dd, ddo);
        v.rearrange(DMIN).intoArray(dd, ddo + 16);
        for (int k = 0; k < 4; k++) {
            ((IntVector) ByteVector.fromMemorySegment(B, w, sec + 16 + 16 * k, LE).convertShape(VectorOperators.B2I, I, 0)).intoArray(sc, so + 16 * k);
        }
    }

    /**
     * Q4_K: {@code facc[fo .. fo + 16)} += one (row, token) lane group: block sums {@code acc[ao ..]} (Σ (q − 8)·x, lane
     * order), the token's {@code s8[so ..]} and scales {@code xs[xo ..]} (even blocks: lane k's super-block), the row's
     * {@link #intScales} at {@code dd[ddo ..]} and {@code sc[sco ..]}, in the order of the class comment.
     */
    static void flushQ4K(short[] acc, int ao, short[] s8, int so, float[] dd, int ddo, int[] sc, int sco, float[] xs, int xo,
                         float[] facc, int fo) {
        IntVector a = ShortVector.fromArray(S, acc, ao).reinterpretAsInts();
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        IntVector se = s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16), sod = s.lanewise(VectorOperators.ASHR, 16);
        IntVector i = a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(se).mul(IntVector.fromArray(I, sc, sco))
                .add(a.lanewise(VectorOperators.ASHR, 16).add(sod).mul(IntVector.fromArray(I, sc, sco + 16)));
        IntVector m = se.lanewise(VectorOperators.ASHR, 3).mul(IntVector.fromArray(I, sc, sco + 32))
                .add(sod.lanewise(VectorOperators.ASHR, 3).mul(IntVector.fromArray(I, sc, sco + 48))).neg();
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        FloatVector r = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, dd, ddo).mul(xe), FloatVector.fromArray(F, facc, fo));
        ((FloatVector) m.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, dd, ddo + 16).mul(xe), r).intoArray(facc, fo);
    }

    /**
     * Decode's Q4_K scale step for a record's four rows and one token: {@link #intScales} and {@link #flushQ4K} of each row
     * (sums {@code acc[32j ..]} into {@code facc[16j ..]}), written out in one method so that nothing goes through memory
     * between them: the same operations on the same values.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, short[] s8, int so, float[] xs, int xo, float[] facc) {
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        IntVector se = s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16), sod = s.lanewise(VectorOperators.ASHR, 16);
        IntVector sxe = se.lanewise(VectorOperators.ASHR, 3), sxo = sod.lanewise(VectorOperators.ASHR, 3); // Σx of each sub-block
        for (int j = 0; j < 4; j++) {
            long sec = Q4KLanesFormat.section(record, j);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector hm = h.and(HalfScales.MAGNITUDE_8), hs = HalfScales.ONE.sub(hm.lanewise(VectorOperators.LSHR, 10).min(1)); // HalfScales.toFloats, written out
            FloatVector v = hm.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(hs.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                    .sub(hs.neg().and(113 << 23).reinterpretAsFloats()).reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            IntVector a = ShortVector.fromArray(S, acc, 32 * j).reinterpretAsInts();
            IntVector i = a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(se)
                    .mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 16, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(a.lanewise(VectorOperators.ASHR, 16).add(sod)
                            .mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 32, LE).convertShape(VectorOperators.B2I, I, 0)));
            IntVector m = sxe.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 48, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(sxo.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 64, LE).convertShape(VectorOperators.B2I, I, 0))).neg();
            FloatVector r = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(v.rearrange(D).mul(xe), FloatVector.fromArray(F, facc, 16 * j));
            ((FloatVector) m.convert(VectorOperators.I2F, 0)).fma(v.rearrange(DMIN).mul(xe), r).intoArray(facc, 16 * j);
        }
    }
}
