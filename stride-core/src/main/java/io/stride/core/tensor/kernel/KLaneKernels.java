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
 * The scale step of the integer products of {@link Q4KLanesFormat} weights (the 16-bit block sums come from
 * {@link LaneKernels#rows4} and the tiles, as for Q4_0). A sub-block's value is A·q − M with A = d·sc and M = dmin·m
 * (both exact in float), so its dot with a block of 8-bit activations (scale xd, sum Σx, {@code s8} = 8·Σx) is
 * xd · (A · T + N · s8) with T = Σ q·x = (the kernel's Σ (q − 8)·x) + s8, an exact integer, and N = −M/8. Per lane
 * group and (row, token), on sixteen float lanes (even sub-blocks, then odd ones), every path computes
 * <pre>acc = fma(T_e, A_e·xd_e, acc); acc = fma(s8_e, N_e·xd_e, acc); acc = fma(T_o, A_o·xd_o, acc); acc = fma(s8_o, N_o·xd_o, acc)</pre>
 * with A and N from {@link #scales} (decode derives them in place with the same operations), so decode and the
 * tiles give each output the same bits. Vectors pass between methods through arrays (see {@link LaneKernels}).
 */
public final class KLaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final FloatVector POW2_112 = FloatVector.broadcast(F, 0x1p112f);
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section), or its dmin (lanes 4..7) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(F, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final VectorShuffle<Float> DMIN = VectorShuffle.fromValues(F, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    private KLaneKernels() {}

    /**
     * A row's A and N for one lane group, from its scale section at {@code sec}: A_e, A_o, N_e, N_o into
     * {@code dst[o ..]}, {@code [o + 16 ..]}, {@code [o + 32 ..]}, {@code [o + 48 ..]}.
     */
    static void scales(MemorySegment w, long sec, float[] dst, int o) {
        // the section's first 16 shorts as ints: d and dmin of the four super-blocks in lanes 0..7 (the rest unused),
        // IEEE halves to floats as in LaneKernels#scales
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
        FloatVector dd = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(POW2_112).reinterpretAsInts()
                .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
        FloatVector d = dd.rearrange(D), dmin = dd.rearrange(DMIN).mul(-0.125f);
        d.mul((FloatVector) ByteVector.fromMemorySegment(B, w, sec + 16, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(dst, o);
        d.mul((FloatVector) ByteVector.fromMemorySegment(B, w, sec + 32, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(dst, o + 16);
        dmin.mul((FloatVector) ByteVector.fromMemorySegment(B, w, sec + 48, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(dst, o + 32);
        dmin.mul((FloatVector) ByteVector.fromMemorySegment(B, w, sec + 64, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(dst, o + 48);
    }

    /**
     * {@code facc[fo .. fo + 16)} += one (row, token) lane group: block sums {@code acc[ao ..]} (Σ (q − 8)·x, lane order),
     * the token's {@code s8[so ..]} and scales {@code xs[xo ..]} (even blocks, then odd), the row's A and N at
     * {@code ws[wo ..]} ({@link #scales}' layout), in the order of the class comment.
     */
    static void flush(short[] acc, int ao, short[] s8, int so, float[] ws, int wo, float[] xs, int xo, float[] facc, int fo) {
        IntVector a = ShortVector.fromArray(S, acc, ao).reinterpretAsInts();
        IntVector s = ShortVector.fromArray(S, s8, so).reinterpretAsInts();
        IntVector se = s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16), sod = s.lanewise(VectorOperators.ASHR, 16);
        FloatVector te = (FloatVector) a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(se).convert(VectorOperators.I2F, 0);
        FloatVector to = (FloatVector) a.lanewise(VectorOperators.ASHR, 16).add(sod).convert(VectorOperators.I2F, 0);
        FloatVector fse = (FloatVector) se.convert(VectorOperators.I2F, 0), fso = (FloatVector) sod.convert(VectorOperators.I2F, 0);
        FloatVector xe = FloatVector.fromArray(F, xs, xo), xo2 = FloatVector.fromArray(F, xs, xo + 16);
        FloatVector r = te.fma(FloatVector.fromArray(F, ws, wo).mul(xe), FloatVector.fromArray(F, facc, fo));
        r = fse.fma(FloatVector.fromArray(F, ws, wo + 32).mul(xe), r);
        r = to.fma(FloatVector.fromArray(F, ws, wo + 16).mul(xo2), r);
        fso.fma(FloatVector.fromArray(F, ws, wo + 48).mul(xo2), r).intoArray(facc, fo);
    }

    /**
     * Decode's scale step for a record's four rows and one token: {@link #scales} of row j into {@code ws[64j ..]}, then
     * {@link #flush} of its sums {@code acc[32j ..]} into {@code facc[16j ..]}.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, short[] s8, int so, float[] xs, int xo, float[] ws, float[] facc) {
        for (int j = 0; j < 4; j++) {
            scales(w, Q4KLanesFormat.section(record, j), ws, 64 * j);
            flush(acc, 32 * j, s8, so, ws, 64 * j, xs, xo, facc, 16 * j);
        }
    }
}
