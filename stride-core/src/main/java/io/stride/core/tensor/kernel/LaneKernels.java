package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.LanesFormat;
import io.stride.core.tensor.repack.Q4_0LanesFormat;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The vector kernels of the integer Q4_0 products ({@link Q4_0LanesFormat} weights, {@link Q8Activations}): 16-bit
 * multiplies and adds over 32 block lanes, one lane group (32 blocks) at a time, then each lane's exact integer sum
 * scaled to float ({@link #flush}). Integer sums do not depend on the order of the additions, and every path scales
 * and adds them with the operations of {@link #flush} ({@link #flushRows4} for decode and {@link #flush4x4} for the
 * 4×4 tiles repeat them for four rows; {@link #flushRows4} also repeats {@link #scales}' f16 conversion, written out
 * for the inlining reason below), so decode and the tiles give each output the same bits.
 *
 * <p>The kernels exchange vectors through small arrays: C2 stops inlining in methods this large
 * (NodeCountInliningCutoff) and would box vectors passed as arguments.
 */
public final class LaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final FloatVector POW2_112 = FloatVector.broadcast(F, 0x1p112f);
    private LaneKernels() {}

    /**
     * A record's four rows ({@link LanesFormat}: Q4_0 or Q4_K) times one token's lane group: the 4 × 32 block sums into
     * {@code acc[0 .. 128)}. A 16-bit weight lane w holds four raw nibbles n0..n3 (0..15) as w = n0 + 16·n1 + 256·n2 +
     * 4096·n3; with {@code c[co ..]} from {@link Q8Activations#c}, w·c0 + (w >>> 4)·c1 + (w >>> 8)·c2 + (w >>> 12)·c3 =
     * Σ nk·xk modulo 2^16, without masking the nibbles apart. Each block's {@code 8 · Σx} ({@code s8[so ..]}, see
     * {@link Q8Activations#s8}) is subtracted once at the end: in wrapping 16-bit arithmetic the sum of (q − 8) · x,
     * exactly (it lies within ±32512).
     */
    static void rows4(MemorySegment w, long record, short[] c, int co, short[] s8, int so, short[] acc) {
        long q = LanesFormat.quants(record, 0);
        // shift counts as vectors: one per-lane shift (vpsrlvw) with the counts kept in a register, where a constant
        // scalar count for 16-bit lanes compiles to extra moves inside the loop
        ShortVector s4 = SHIFT_4, s8v = SHIFT_8, s12 = SHIFT_12;
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int p = 0; p < 8; p++) {
            int ci = co + 128 * p;
            ShortVector c0 = ShortVector.fromArray(S, c, ci), c1 = ShortVector.fromArray(S, c, ci + 32);
            ShortVector c2 = ShortVector.fromArray(S, c, ci + 64), c3 = ShortVector.fromArray(S, c, ci + 96);
            long o = q + (long) LanesFormat.PAIR_STRIDE * p;
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
            a0 = a0.add(w0.mul(c0)).add(w0.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w0.lanewise(VectorOperators.LSHR, s8v).mul(c2)).add(w0.lanewise(VectorOperators.LSHR, s12).mul(c3));
            a1 = a1.add(w1.mul(c0)).add(w1.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w1.lanewise(VectorOperators.LSHR, s8v).mul(c2)).add(w1.lanewise(VectorOperators.LSHR, s12).mul(c3));
            a2 = a2.add(w2.mul(c0)).add(w2.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w2.lanewise(VectorOperators.LSHR, s8v).mul(c2)).add(w2.lanewise(VectorOperators.LSHR, s12).mul(c3));
            a3 = a3.add(w3.mul(c0)).add(w3.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w3.lanewise(VectorOperators.LSHR, s8v).mul(c2)).add(w3.lanewise(VectorOperators.LSHR, s12).mul(c3));
        }
        ShortVector d = ShortVector.fromArray(S, s8, so);
        a0.sub(d).intoArray(acc, 0);
        a1.sub(d).intoArray(acc, 32);
        a2.sub(d).intoArray(acc, 64);
        a3.sub(d).intoArray(acc, 96);
    }

    private static final ShortVector SHIFT_4 = ShortVector.broadcast(S, (short) 4), SHIFT_8 = ShortVector.broadcast(S, (short) 8),
            SHIFT_12 = ShortVector.broadcast(S, (short) 12);

    /**
     * One row of a lane group (its pair row 0 at {@code quants}, see {@link LanesFormat#quants}) decoded to 16-bit
     * values q − 8: element e of block l at {@code panel[po + 32e + l]}.
     */
    static void decode(MemorySegment w, long quants, short[] panel, int po) {
        ShortVector s4 = SHIFT_4, s8 = SHIFT_8, s12 = SHIFT_12; // see rows4
        for (int p = 0; p < 8; p++) {
            ShortVector v = ShortVector.fromMemorySegment(S, w, quants + (long) LanesFormat.PAIR_STRIDE * p, LE);
            v.and((short) 15).sub((short) 8).intoArray(panel, po + 32 * (2 * p));
            v.lanewise(VectorOperators.LSHR, s4).and((short) 15).sub((short) 8).intoArray(panel, po + 32 * (2 * p + 16));
            v.lanewise(VectorOperators.LSHR, s8).and((short) 15).sub((short) 8).intoArray(panel, po + 32 * (2 * p + 1));
            v.lanewise(VectorOperators.LSHR, s12).sub((short) 8).intoArray(panel, po + 32 * (2 * p + 17));
        }
    }

    /**
     * A row's 32 f16 block scales at {@code share} as floats, even blocks then odd ones (the order {@link #flush} reads): block 2k
     * into {@code dst[o + k]}, block 2k + 1 into {@code dst[o + 16 + k]}.
     */
    static void scales(MemorySegment w, long share, float[] dst, int o) {
        IntVector h = ShortVector.fromMemorySegment(S, w, share, LE).reinterpretAsInts();
        // IEEE halves to floats, exactly (subnormals too; weights have no infinities): magnitude bits moved into a
        // float's exponent and mantissa and scaled by 2^112, then the sign. Written out twice, not as a helper taking a
        // vector (a vector argument of a call that is not inlined is boxed).
        IntVector even = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        even.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(POW2_112).reinterpretAsInts()
                .or(even.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, o);
        IntVector odd = h.lanewise(VectorOperators.ASHR, 16);
        odd.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(POW2_112).reinterpretAsInts()
                .or(odd.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, o + 16);
    }

    /**
     * {@code facc[fo .. fo + 16)} += the 32 block sums {@code acc[ao ..]} times their scales: lane k takes block 2k
     * ({@code ws[wo + k] · xs[xo + k]}), then block 2k + 1 ({@code ws[wo + 16 + k] · xs[xo + 16 + k]}), each with one
     * fused multiply-add. The 16-bit sums are split into even and odd blocks by shifts of their int view.
     */
    static void flush(short[] acc, int ao, float[] ws, int wo, float[] xs, int xo, float[] facc, int fo) {
        IntVector a = ShortVector.fromArray(S, acc, ao).reinterpretAsInts();
        FloatVector even = (FloatVector) a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
        FloatVector odd = (FloatVector) a.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
        FloatVector s0 = FloatVector.fromArray(F, ws, wo).mul(FloatVector.fromArray(F, xs, xo));
        FloatVector s1 = FloatVector.fromArray(F, ws, wo + 16).mul(FloatVector.fromArray(F, xs, xo + 16));
        odd.fma(s1, even.fma(s0, FloatVector.fromArray(F, facc, fo))).intoArray(facc, fo);
    }

    /**
     * {@link #scales} and {@link #flush} for a record's four rows and one token (decode): row j's sums
     * {@code acc[32j ..]} into {@code facc[16j ..]}, with the same values and operations as those two, in one call.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, float[] xs, int xo, float[] facc) {
        FloatVector xl = FloatVector.fromArray(F, xs, xo), xh = FloatVector.fromArray(F, xs, xo + 16);
        for (int j = 0; j < 4; j++) {
            IntVector h = ShortVector.fromMemorySegment(S, w, Q4_0LanesFormat.scales(record, j), LE).reinterpretAsInts();
            IntVector he = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
            IntVector ho = h.lanewise(VectorOperators.ASHR, 16);
            FloatVector we = he.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(POW2_112).reinterpretAsInts()
                    .or(he.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector wo = ho.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(POW2_112).reinterpretAsInts()
                    .or(ho.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            IntVector a = ShortVector.fromArray(S, acc, 32 * j).reinterpretAsInts();
            FloatVector even = (FloatVector) a.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            FloatVector odd = (FloatVector) a.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            odd.fma(wo.mul(xh), even.fma(we.mul(xl), FloatVector.fromArray(F, facc, 16 * j))).intoArray(facc, 16 * j);
        }
    }

    /**
     * {@link #flush} for the 16 (row, token) sums of a {@link #tile4x4}: row r's scales at {@code ws[w + r·wStride ..]},
     * token t's at {@code xs[x + t·xStride ..]}, lanes into {@code facc[f + 64·t + 16·r ..]}; each row's scales loaded
     * once for the four tokens. The same operations per output as {@link #flush}.
     */
    static void flush4x4(short[] acc, float[] ws, int w, int wStride, float[] xs, int x, int xStride, float[] facc, int f) {
        FloatVector w0 = FloatVector.fromArray(F, ws, w), w0h = FloatVector.fromArray(F, ws, w + 16);
        FloatVector w1 = FloatVector.fromArray(F, ws, w + wStride), w1h = FloatVector.fromArray(F, ws, w + wStride + 16);
        FloatVector w2 = FloatVector.fromArray(F, ws, w + 2 * wStride), w2h = FloatVector.fromArray(F, ws, w + 2 * wStride + 16);
        FloatVector w3 = FloatVector.fromArray(F, ws, w + 3 * wStride), w3h = FloatVector.fromArray(F, ws, w + 3 * wStride + 16);
        for (int t = 0; t < 4; t++) {
            FloatVector xl = FloatVector.fromArray(F, xs, x + t * xStride), xh = FloatVector.fromArray(F, xs, x + t * xStride + 16);
            int a = 128 * t, o = f + 64 * t;
            IntVector s0 = ShortVector.fromArray(S, acc, a).reinterpretAsInts();
            IntVector s1 = ShortVector.fromArray(S, acc, a + 32).reinterpretAsInts();
            IntVector s2 = ShortVector.fromArray(S, acc, a + 64).reinterpretAsInts();
            IntVector s3 = ShortVector.fromArray(S, acc, a + 96).reinterpretAsInts();
            ((FloatVector) s0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(w0h.mul(xh),
                    ((FloatVector) s0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                            .fma(w0.mul(xl), FloatVector.fromArray(F, facc, o))).intoArray(facc, o);
            ((FloatVector) s1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(w1h.mul(xh),
                    ((FloatVector) s1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                            .fma(w1.mul(xl), FloatVector.fromArray(F, facc, o + 16))).intoArray(facc, o + 16);
            ((FloatVector) s2.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(w2h.mul(xh),
                    ((FloatVector) s2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                            .fma(w2.mul(xl), FloatVector.fromArray(F, facc, o + 32))).intoArray(facc, o + 32);
            ((FloatVector) s3.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(w3h.mul(xh),
                    ((FloatVector) s3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                            .fma(w3.mul(xl), FloatVector.fromArray(F, facc, o + 48))).intoArray(facc, o + 48);
        }
    }

    /**
     * Register tile: four decoded rows ({@code panel[p + r·ps ..]}) times four tokens ({@code xq[x + t·xs ..]}), one lane
     * group; block sums of (row r, token t) into {@code acc[32·(4t + r) ..]}.
     */
    static void tile4x4(short[] panel, int p, int ps, short[] xq, int x, int xs, short[] acc) {
        tile4x4(panel, p, ps, xq, x, xs, acc, 0, GROUP_VALUES, 0);
    }

    private static final int GROUP_VALUES = Q8Activations.GROUP_VALUES;

    /**
     * {@link #tile4x4} over the values {@code from .. to} of the lane group (32 per element: elements from / 32 ..
     * to / 32 of each block), sums at {@code acc[ao + 32·(4t + r) ..]}.
     */
    static void tile4x4(short[] panel, int p, int ps, short[] xq, int x, int xs, short[] acc, int from, int to, int ao) {
        ShortVector z = ShortVector.zero(S);
        ShortVector c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
        ShortVector c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
        for (int e = from; e < to; e += 32) {
            ShortVector x0 = ShortVector.fromArray(S, xq, x + e), x1 = ShortVector.fromArray(S, xq, x + xs + e);
            ShortVector x2 = ShortVector.fromArray(S, xq, x + 2 * xs + e), x3 = ShortVector.fromArray(S, xq, x + 3 * xs + e);
            ShortVector w = ShortVector.fromArray(S, panel, p + e);
            c00 = c00.add(w.mul(x0)); c01 = c01.add(w.mul(x1)); c02 = c02.add(w.mul(x2)); c03 = c03.add(w.mul(x3));
            w = ShortVector.fromArray(S, panel, p + ps + e);
            c10 = c10.add(w.mul(x0)); c11 = c11.add(w.mul(x1)); c12 = c12.add(w.mul(x2)); c13 = c13.add(w.mul(x3));
            w = ShortVector.fromArray(S, panel, p + 2 * ps + e);
            c20 = c20.add(w.mul(x0)); c21 = c21.add(w.mul(x1)); c22 = c22.add(w.mul(x2)); c23 = c23.add(w.mul(x3));
            w = ShortVector.fromArray(S, panel, p + 3 * ps + e);
            c30 = c30.add(w.mul(x0)); c31 = c31.add(w.mul(x1)); c32 = c32.add(w.mul(x2)); c33 = c33.add(w.mul(x3));
        }
        c00.intoArray(acc, ao); c10.intoArray(acc, ao + 32); c20.intoArray(acc, ao + 64); c30.intoArray(acc, ao + 96);
        c01.intoArray(acc, ao + 128); c11.intoArray(acc, ao + 160); c21.intoArray(acc, ao + 192); c31.intoArray(acc, ao + 224);
        c02.intoArray(acc, ao + 256); c12.intoArray(acc, ao + 288); c22.intoArray(acc, ao + 320); c32.intoArray(acc, ao + 352);
        c03.intoArray(acc, ao + 384); c13.intoArray(acc, ao + 416); c23.intoArray(acc, ao + 448); c33.intoArray(acc, ao + 480);
    }

    /** {@link #tile4x4} for one token: block sums of row r into {@code acc[32·r ..]}. */
    static void tile4x1(short[] panel, int p, int ps, short[] xq, int x, short[] acc) {
        tile4x1(panel, p, ps, xq, x, acc, 0, GROUP_VALUES, 0);
    }

    /** {@link #tile4x1} over the values {@code from .. to} of the lane group, sums at {@code acc[ao + 32·r ..]}. */
    static void tile4x1(short[] panel, int p, int ps, short[] xq, int x, short[] acc, int from, int to, int ao) {
        ShortVector z = ShortVector.zero(S);
        ShortVector c0 = z, c1 = z, c2 = z, c3 = z;
        for (int e = from; e < to; e += 32) {
            ShortVector x0 = ShortVector.fromArray(S, xq, x + e);
            c0 = c0.add(ShortVector.fromArray(S, panel, p + e).mul(x0));
            c1 = c1.add(ShortVector.fromArray(S, panel, p + ps + e).mul(x0));
            c2 = c2.add(ShortVector.fromArray(S, panel, p + 2 * ps + e).mul(x0));
            c3 = c3.add(ShortVector.fromArray(S, panel, p + 3 * ps + e).mul(x0));
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + 32);
        c2.intoArray(acc, ao + 64);
        c3.intoArray(acc, ao + 96);
    }
}
