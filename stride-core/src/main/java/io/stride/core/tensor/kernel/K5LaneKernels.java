package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.Q5KLanesFormat;
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
 * The kernels of the integer products of {@link Q5KLanesFormat} weights: as Q4_K's ({@link KLaneKernels}) with
 * T = Σ q·x for q = lo + 16·hb. Decode takes Σ (lo − 8)·x from {@link LaneKernels#rows4} and Σ hb·x from
 * {@link #bits4} (|Σ hb·x| ≤ 32·127), T = Σ (lo − 8)·x + s8 + 16·Σ hb·x ({@link #flushRows4}); the tiles multiply decoded
 * q − 16 over half blocks (16·16·127 < 2^15), T = h0 + h1 + 2·s8 ({@link #tileSums}): the same integers. Every path then
 * takes Q4_K's integer scale step (llama.cpp's q5_K · q8_K order) per lane group and (row, token):
 * <pre>I = T_e·sc_e + T_o·sc_o; M = Σx_e·m_e + Σx_o·m_o; acc = fma(float(I), d·xd, acc); acc = fma(float(−M), dmin·xd, acc)</pre>
 * with sc, m, d and dmin from {@link KLaneKernels#intScales}' layout.
 */
public final class K5LaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final FloatVector POW2_112 = FloatVector.broadcast(FloatVector.SPECIES_512, 0x1p112f);
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section), or its dmin (lanes 4..7) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(FloatVector.SPECIES_512, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final VectorShuffle<Float> DMIN = VectorShuffle.fromValues(FloatVector.SPECIES_512, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private K5LaneKernels() {}

    /**
     * Σ hb·x of a record's four rows and one token's lane group: row j's 16-bit lanes into {@code acc[ao + 32j ..]}. A lane
     * of sixteen bits times the multipliers {@code ch} (c0 = x0, ck = xk − 2·x(k−1)) summed over the shifted lanes gives
     * Σ bk·xk modulo 2^16 (see {@link LaneKernels#rows4}); two fields per step, each multiplier loaded once for the four rows.
     */
    static void bits4(MemorySegment w, long record, short[] ch, int co, short[] acc, int ao) {
        long q = Q5KLanesFormat.high(record, 0);
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < 32; k += 2) {
            int h = k / 16, f = k % 16;
            int ci = co + 512 * h + 32 * f;
            ShortVector c0 = ShortVector.fromArray(S, ch, ci), c1 = ShortVector.fromArray(S, ch, ci + 32);
            ShortVector n0 = ShortVector.broadcast(S, (short) f), n1 = ShortVector.broadcast(S, (short) (f + 1));
            long o = q + 256L * h;
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
            a0 = a0.add(w0.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w0.lanewise(VectorOperators.LSHR, n1).mul(c1));
            a1 = a1.add(w1.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w1.lanewise(VectorOperators.LSHR, n1).mul(c1));
            a2 = a2.add(w2.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w2.lanewise(VectorOperators.LSHR, n1).mul(c1));
            a3 = a3.add(w3.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w3.lanewise(VectorOperators.LSHR, n1).mul(c1));
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + 32);
        a2.intoArray(acc, ao + 64);
        a3.intoArray(acc, ao + 96);
    }

    /**
     * Row j's lanes of a lane group decoded by {@link LaneKernels#decode} (lo − 8 at {@code panel[po + 32e + l]}) turned
     * into q − 16 by adding 16·hb − 8.
     */
    static void addHigh(MemorySegment w, long record, int j, short[] panel, int po) {
        long q = Q5KLanesFormat.high(record, j);
        for (int h = 0; h < 2; h++) {
            ShortVector v = ShortVector.fromMemorySegment(S, w, q + 256L * h, LE);
            for (int k = 0; k < 16; k++) {
                int at = po + 32 * (16 * h + k);
                ShortVector.fromArray(S, panel, at).add(v.lanewise(VectorOperators.LSHR, k).and((short) 1).lanewise(VectorOperators.LSHL, 4))
                        .sub((short) 8).intoArray(panel, at);
            }
        }
    }

    /** The tiles' T: Σ (q − 16)·x over the halves of each block at {@code acc[h0 ..]}, {@code acc[h1 ..]}, plus 2·s8. */
    static void tileSums(short[] acc, int h0, int h1, short[] s8, int so, int[] t) {
        IntVector a = ShortVector.fromArray(S, acc, h0).reinterpretAsInts();
        IntVector b = ShortVector.fromArray(S, acc, h1).reinterpretAsInts();
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(b.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                .add(s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 1)).intoArray(t, 0);
        a.lanewise(VectorOperators.ASHR, 16).add(b.lanewise(VectorOperators.ASHR, 16))
                .add(s.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 1)).intoArray(t, 16);
    }

    /**
     * {@code facc[fo .. fo + 16)} += one (row, token) lane group from T ({@code t}: even sub-blocks, then odd), the
     * token's {@code s8[so ..]} and scales {@code xs[xo ..]}, the row's {@link KLaneKernels#intScales} at {@code dd[ddo ..]}
     * and {@code sc[sco ..]}: I = T_e·sc_e + T_o·sc_o and M = Σx_e·m_e + Σx_o·m_o, then two fmas, as Q4_K's.
     */
    static void flush(int[] t, short[] s8, int so, float[] dd, int ddo, int[] sc, int sco, float[] xs, int xo, float[] facc, int fo) {
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        IntVector i = IntVector.fromArray(I, t, 0).mul(IntVector.fromArray(I, sc, sco))
                .add(IntVector.fromArray(I, t, 16).mul(IntVector.fromArray(I, sc, sco + 16)));
        IntVector m = s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 19).mul(IntVector.fromArray(I, sc, sco + 32))
                .add(s.lanewise(VectorOperators.ASHR, 19).mul(IntVector.fromArray(I, sc, sco + 48))).neg();
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        FloatVector r = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, dd, ddo).mul(xe), FloatVector.fromArray(F, facc, fo));
        ((FloatVector) m.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, dd, ddo + 16).mul(xe), r).intoArray(facc, fo);
    }

    /**
     * Decode's scale step for a record's four rows and one token, from Σ (lo − 8)·x at {@code acc[32j ..]} and Σ hb·x at
     * {@code acc[128 + 32j ..]}: per row T = Σ (lo − 8)·x + s8 + 16·Σ hb·x, then {@link #flush}'s integers and float
     * operations, written out in one method so that nothing goes through memory between them.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, short[] s8, int so, float[] xs, int xo, float[] facc) {
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        IntVector se = s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16), sod = s.lanewise(VectorOperators.ASHR, 16);
        IntVector sxe = se.lanewise(VectorOperators.ASHR, 3), sxo = sod.lanewise(VectorOperators.ASHR, 3); // Σx of each sub-block
        for (int j = 0; j < 4; j++) {
            long sec = Q5KLanesFormat.section(record, j);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector v = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(POW2_112).reinterpretAsInts()
                    .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            IntVector a = ShortVector.fromArray(S, acc, 32 * j).reinterpretAsInts();
            IntVector b = ShortVector.fromArray(S, acc, 128 + 32 * j).reinterpretAsInts();
            IntVector te = a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(se)
                    .add(b.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 12));
            IntVector to = a.lanewise(VectorOperators.ASHR, 16).add(sod).add(b.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4));
            IntVector i = te.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 16, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(to.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 32, LE).convertShape(VectorOperators.B2I, I, 0)));
            IntVector m = sxe.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 48, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(sxo.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 64, LE).convertShape(VectorOperators.B2I, I, 0))).neg();
            FloatVector r = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(v.rearrange(D).mul(xe), FloatVector.fromArray(F, facc, 16 * j));
            ((FloatVector) m.convert(VectorOperators.I2F, 0)).fma(v.rearrange(DMIN).mul(xe), r).intoArray(facc, 16 * j);
        }
    }
}
