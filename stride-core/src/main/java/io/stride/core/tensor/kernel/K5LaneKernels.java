package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.Q5KLanesFormat;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The kernels of the integer products of {@link Q5KLanesFormat} weights: as Q4_K's ({@link KLaneKernels}) with
 * T = Σ q·x for q = lo + 16·hb. Decode takes Σ (lo − 8)·x from {@link LaneKernels#rows4} and Σ hb·x from
 * {@link #bits4} (|Σ hb·x| ≤ 32·127), T = Σ (lo − 8)·x + s8 + 16·Σ hb·x ({@link #sums}); the tiles multiply decoded
 * q − 16 over half blocks (16·16·127 < 2^15), T = h0 + h1 + 2·s8 ({@link #tileSums}): the same integers. Every path then
 * computes, per lane group and (row, token),
 * <pre>acc = fma(T_e, A_e·xd_e, acc); acc = fma(s8_e, N_e·xd_e, acc); acc = fma(T_o, A_o·xd_o, acc); acc = fma(s8_o, N_o·xd_o, acc)</pre>
 * with A and N from {@link KLaneKernels#scales}.
 */
public final class K5LaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
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

    /**
     * Decode's T of one (row, token) lane group from Σ (lo − 8)·x at {@code acc[la ..]}, Σ hb·x at {@code acc[ha ..]} and
     * the token's {@code s8[so ..]} (all lane order): T_e into {@code t[0 ..]}, T_o into {@code t[16 ..]}.
     */
    static void sums(short[] acc, int la, int ha, short[] s8, int so, int[] t) {
        IntVector a = ShortVector.fromArray(S, acc, la).reinterpretAsInts();
        IntVector b = ShortVector.fromArray(S, acc, ha).reinterpretAsInts();
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                .add(b.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4)).intoArray(t, 0);
        a.lanewise(VectorOperators.ASHR, 16).add(s.lanewise(VectorOperators.ASHR, 16))
                .add(b.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4)).intoArray(t, 16);
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

    /** {@code facc[fo .. fo + 16)} += one (row, token) lane group from T ({@code t}), s8, A and N ({@code ws[wo ..]}), xd. */
    static void flush(int[] t, short[] s8, int so, float[] ws, int wo, float[] xs, int xo, float[] facc, int fo) {
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        FloatVector fse = (FloatVector) s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
        FloatVector fso = (FloatVector) s.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
        FloatVector te = (FloatVector) IntVector.fromArray(I, t, 0).convert(VectorOperators.I2F, 0);
        FloatVector to = (FloatVector) IntVector.fromArray(I, t, 16).convert(VectorOperators.I2F, 0);
        FloatVector xe = FloatVector.fromArray(F, xs, xo), xodd = FloatVector.fromArray(F, xs, xo + 16);
        FloatVector r = te.fma(FloatVector.fromArray(F, ws, wo).mul(xe), FloatVector.fromArray(F, facc, fo));
        r = fse.fma(FloatVector.fromArray(F, ws, wo + 32).mul(xe), r);
        r = to.fma(FloatVector.fromArray(F, ws, wo + 16).mul(xodd), r);
        fso.fma(FloatVector.fromArray(F, ws, wo + 48).mul(xodd), r).intoArray(facc, fo);
    }

    /**
     * Decode's scale step for a record's four rows and one token: the sums Σ (lo − 8)·x at {@code acc[32j ..]} and Σ hb·x at
     * {@code acc[128 + 32j ..]}; {@link KLaneKernels#scales}, {@link #sums} and {@link #flush} of each row.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, short[] s8, int so, float[] xs, int xo, float[] ws, int[] t, float[] facc) {
        for (int j = 0; j < 4; j++) {
            KLaneKernels.scales(w, Q5KLanesFormat.section(record, j), ws, 64 * j);
            sums(acc, 32 * j, 128 + 32 * j, s8, so, t);
            flush(t, s8, so, ws, 64 * j, xs, xo, facc, 16 * j);
        }
    }
}
