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
 * T = Σ q·x for 5-bit q. Decode multiplies each lane's three unmasked 5-bit fields ({@link #rows4}) into three exact
 * 16-bit sums of (q − 16)·x per block (elements 0..14, 16..30, and 15 with 31), T = their sum + 2·s8
 * ({@link #flushRows4}); the tiles multiply decoded q − 16 ({@link #decode}) over half blocks (16·16·127 < 2^15),
 * T = h0 + h1 + 2·s8 ({@link #tileSums}): the same integers. Every path then takes Q4_K's integer scale step
 * (llama.cpp's q5_K · q8_K order) per lane group and (row, token):
 * <pre>I = T_e·sc_e + T_o·sc_o; M = Σx_e·m_e + Σx_o·m_o; acc = fma(float(I), d·xd, acc); acc = fma(float(−M), dmin·xd, acc)</pre>
 * with sc, m, d and dmin from {@link KLaneKernels#intScales}' layout.
 */
public final class K5LaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section), or its dmin (lanes 4..7) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(FloatVector.SPECIES_512, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final VectorShuffle<Float> DMIN = VectorShuffle.fromValues(FloatVector.SPECIES_512, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private K5LaneKernels() {}

    private static final ShortVector SHIFT_5 = ShortVector.broadcast(S, (short) 5), SHIFT_10 = ShortVector.broadcast(S, (short) 10);

    /**
     * A record's four rows times one token's lane group: per row j, the sums of (q − 16)·x over elements 0..14 into
     * {@code acc[32j ..]}, over 16..30 into {@code acc[128 + 32j ..]} and over 15 and 31 into {@code acc[256 + 32j ..]},
     * exact in 16 bits (at most 15 values of |q − 16| ≤ 16 times |x| ≤ 127). A lane's fields are multiplied unmasked
     * against {@code c[co ..]} ({@link Q8Activations#k5}'s companion multipliers: Σ q·x modulo 2^16), and
     * {@code k5[ko ..]} (16·Σx of each part) is subtracted at the end.
     */
    static void rows4(MemorySegment w, long record, short[] c, int co, short[] k5, int ko, short[] acc) {
        half4(w, record, c, co, k5, ko, 0, acc);
        half4(w, record, c, co, k5, ko, 1, acc);
        ShortVector s5 = SHIFT_5;
        ShortVector c0 = ShortVector.fromArray(S, c, co + 960), c1 = ShortVector.fromArray(S, c, co + 992);
        long o = Q5KLanesFormat.lane(record, 0, 10);
        ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
        ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
        ShortVector d = ShortVector.fromArray(S, k5, ko + 64);
        w0.mul(c0).add(w0.lanewise(VectorOperators.LSHR, s5).mul(c1)).sub(d).intoArray(acc, 256);
        w1.mul(c0).add(w1.lanewise(VectorOperators.LSHR, s5).mul(c1)).sub(d).intoArray(acc, 288);
        w2.mul(c0).add(w2.lanewise(VectorOperators.LSHR, s5).mul(c1)).sub(d).intoArray(acc, 320);
        w3.mul(c0).add(w3.lanewise(VectorOperators.LSHR, s5).mul(c1)).sub(d).intoArray(acc, 352);
    }

    /** {@link #rows4}' half h: lane rows 5h .. 5h + 4 of the four rows. */
    private static void half4(MemorySegment w, long record, short[] c, int co, short[] k5, int ko, int h, short[] acc) {
        ShortVector s5 = SHIFT_5, s10 = SHIFT_10; // shift counts as vectors (see LaneKernels#rows4)
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int m = 0; m < 5; m++) {
            int ci = co + 480 * h + 96 * m;
            ShortVector c0 = ShortVector.fromArray(S, c, ci), c1 = ShortVector.fromArray(S, c, ci + 32), c2 = ShortVector.fromArray(S, c, ci + 64);
            long o = Q5KLanesFormat.lane(record, 0, 5 * h + m);
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
            a0 = a0.add(w0.mul(c0)).add(w0.lanewise(VectorOperators.LSHR, s5).mul(c1)).add(w0.lanewise(VectorOperators.LSHR, s10).mul(c2));
            a1 = a1.add(w1.mul(c0)).add(w1.lanewise(VectorOperators.LSHR, s5).mul(c1)).add(w1.lanewise(VectorOperators.LSHR, s10).mul(c2));
            a2 = a2.add(w2.mul(c0)).add(w2.lanewise(VectorOperators.LSHR, s5).mul(c1)).add(w2.lanewise(VectorOperators.LSHR, s10).mul(c2));
            a3 = a3.add(w3.mul(c0)).add(w3.lanewise(VectorOperators.LSHR, s5).mul(c1)).add(w3.lanewise(VectorOperators.LSHR, s10).mul(c2));
        }
        ShortVector d = ShortVector.fromArray(S, k5, ko + 32 * h);
        a0.sub(d).intoArray(acc, 128 * h);
        a1.sub(d).intoArray(acc, 128 * h + 32);
        a2.sub(d).intoArray(acc, 128 * h + 64);
        a3.sub(d).intoArray(acc, 128 * h + 96);
    }

    /** One row of a lane group decoded for the tiles: q − 16 of element e of block l at {@code panel[po + 32e + l]}. */
    static void decode(MemorySegment w, long record, int j, short[] panel, int po) {
        ShortVector s5 = SHIFT_5, s10 = SHIFT_10;
        for (int h = 0; h < 2; h++) {
            for (int m = 0; m < 5; m++) {
                ShortVector v = ShortVector.fromMemorySegment(S, w, Q5KLanesFormat.lane(record, j, 5 * h + m), LE);
                int e = 16 * h + 3 * m;
                v.and((short) 31).sub((short) 16).intoArray(panel, po + 32 * e);
                v.lanewise(VectorOperators.LSHR, s5).and((short) 31).sub((short) 16).intoArray(panel, po + 32 * (e + 1));
                v.lanewise(VectorOperators.LSHR, s10).sub((short) 16).intoArray(panel, po + 32 * (e + 2));
            }
        }
        ShortVector v = ShortVector.fromMemorySegment(S, w, Q5KLanesFormat.lane(record, j, 10), LE);
        v.and((short) 31).sub((short) 16).intoArray(panel, po + 32 * 15);
        v.lanewise(VectorOperators.LSHR, s5).sub((short) 16).intoArray(panel, po + 32 * 31);
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
     * Decode's scale step for a record's four rows and one token, from {@link #rows4}' three sums per row at
     * {@code acc[32j ..]}, {@code [128 + 32j ..]}, {@code [256 + 32j ..]}: T = their sum + 2·s8 (= Σ q·x), then
     * {@link #flush}'s integers and float operations, written out in one method so that nothing goes through memory
     * between them.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, short[] s8, int so, float[] xs, int xo, float[] facc) {
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        IntVector se = s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16), sod = s.lanewise(VectorOperators.ASHR, 16);
        IntVector sxe = se.lanewise(VectorOperators.ASHR, 3), sxo = sod.lanewise(VectorOperators.ASHR, 3); // Σx of each sub-block
        IntVector te2 = se.lanewise(VectorOperators.LSHL, 1), to2 = sod.lanewise(VectorOperators.LSHL, 1); // 16·Σx
        for (int j = 0; j < 4; j++) {
            long sec = Q5KLanesFormat.section(record, j);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector hm = h.and(HalfScales.MAGNITUDE_8), hs = HalfScales.ONE.sub(hm.lanewise(VectorOperators.LSHR, 10).min(1)); // HalfScales.toFloats, written out
            FloatVector v = hm.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(hs.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                    .sub(hs.neg().and(113 << 23).reinterpretAsFloats()).reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            IntVector a = ShortVector.fromArray(S, acc, 32 * j).reinterpretAsInts();
            IntVector b = ShortVector.fromArray(S, acc, 128 + 32 * j).reinterpretAsInts();
            IntVector x = ShortVector.fromArray(S, acc, 256 + 32 * j).reinterpretAsInts();
            IntVector te = a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(b.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .add(x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(te2);
            IntVector to = a.lanewise(VectorOperators.ASHR, 16).add(b.lanewise(VectorOperators.ASHR, 16))
                    .add(x.lanewise(VectorOperators.ASHR, 16)).add(to2);
            IntVector i = te.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 16, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(to.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 32, LE).convertShape(VectorOperators.B2I, I, 0)));
            IntVector m = sxe.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 48, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(sxo.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 64, LE).convertShape(VectorOperators.B2I, I, 0))).neg();
            FloatVector r = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(v.rearrange(D).mul(xe), FloatVector.fromArray(F, facc, 16 * j));
            ((FloatVector) m.convert(VectorOperators.I2F, 0)).fma(v.rearrange(DMIN).mul(xe), r).intoArray(facc, 16 * j);
        }
    }
}
