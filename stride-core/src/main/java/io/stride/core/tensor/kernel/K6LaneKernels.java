package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.LanesFormat;
import io.stride.core.tensor.repack.Q6KLanesFormat;
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
 * The kernels of the integer products of {@link Q6KLanesFormat} weights. A value is d·sc·(q − 32) with q = lo + 16·hi
 * (sc per sub-block of 16, d per super-block of 256), so a sub-block's dot with 8-bit activations (super-block scale
 * xd) is xd·d·sc·T with the integer T = Σ (q − 32)·x. Decode gets T from four 16-bit sums per block (lo and hi over
 * sub-block A, values 0..15, and B, values 16..31; |Σ lo·x| ≤ 15·127·16 < 2^15) and the activations' half sums
 * ({@link Q8Activations#halves}): T = lo + 16·hi − 32·Σx in 32-bit lanes ({@link #flushRows4}); the tiles from decoded q − 32
 * summed over quarter blocks ({@link #tileSums}). Per lane group and (row, token), on sixteen lanes (lane k: blocks 2k
 * and 2k + 1, one super-block), every path then computes, as llama.cpp's q6_K · q8_K dot does per super-block,
 * <pre>I = Σ sc·T over the lane's four sub-blocks (exact, 32 bits); acc = fma(float(I), d·xd, acc)</pre>
 * ({@link #flush}, scales from {@link #scales}), so decode and the tiles give each output the same bits.
 * Vectors pass between methods through arrays (see {@link LaneKernels}).
 */
public final class K6LaneKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(F, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final ShortVector SHIFT_4 = ShortVector.broadcast(S, (short) 4), SHIFT_8 = ShortVector.broadcast(S, (short) 8),
            SHIFT_12 = ShortVector.broadcast(S, (short) 12);
    private K6LaneKernels() {}

    /**
     * A record's four rows times one token's lane group: row j's sums lo A, lo B, hi A, hi B into {@code acc[128j ..]},
     * {@code [128j + 32 ..]}, {@code [128j + 64 ..]}, {@code [128j + 96 ..]}. As in {@link LaneKernels#rows4}, a lane of
     * packed fields f_k (k-th field at bits bk) times the multipliers c (c0 = x0, ck = xk − 2^b·x(k−1)) summed over the
     * shifted lanes gives Σ f_k·x_k modulo 2^16, without masking the fields apart.
     */
    static void rows4(MemorySegment w, long record, short[] c, int co, short[] ch, int cho, short[] acc) {
        long lo = LanesFormat.quants(record, 0), hi = Q6KLanesFormat.high(record, 0);
        nibbles4(w, lo, c, co, acc, 0);
        nibbles4(w, lo + 4L * LanesFormat.PAIR_STRIDE, c, co + 512, acc, 32);
        crumbs4(w, hi, ch, cho, acc, 64);
        crumbs4(w, hi + 2L * LanesFormat.PAIR_STRIDE, ch, cho + 512, acc, 96);
    }

    /**
     * Σ lo·x over four pair rows (one sub-block) of the four rows (row j's pair row p at {@code q + 64j + 256p}), each
     * multiplier loaded once for the four: 16-bit lanes of row j into {@code acc[ao + 128j ..]}.
     */
    private static void nibbles4(MemorySegment w, long q, short[] c, int co, short[] acc, int ao) {
        ShortVector s4 = SHIFT_4, s8 = SHIFT_8, s12 = SHIFT_12; // shift counts in registers, see LaneKernels#rows4
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int p = 0; p < 4; p++) {
            int ci = co + 128 * p;
            ShortVector c0 = ShortVector.fromArray(S, c, ci), c1 = ShortVector.fromArray(S, c, ci + 32);
            ShortVector c2 = ShortVector.fromArray(S, c, ci + 64), c3 = ShortVector.fromArray(S, c, ci + 96);
            long o = q + (long) LanesFormat.PAIR_STRIDE * p;
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
            a0 = a0.add(w0.mul(c0)).add(w0.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w0.lanewise(VectorOperators.LSHR, s8).mul(c2)).add(w0.lanewise(VectorOperators.LSHR, s12).mul(c3));
            a1 = a1.add(w1.mul(c0)).add(w1.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w1.lanewise(VectorOperators.LSHR, s8).mul(c2)).add(w1.lanewise(VectorOperators.LSHR, s12).mul(c3));
            a2 = a2.add(w2.mul(c0)).add(w2.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w2.lanewise(VectorOperators.LSHR, s8).mul(c2)).add(w2.lanewise(VectorOperators.LSHR, s12).mul(c3));
            a3 = a3.add(w3.mul(c0)).add(w3.lanewise(VectorOperators.LSHR, s4).mul(c1))
                    .add(w3.lanewise(VectorOperators.LSHR, s8).mul(c2)).add(w3.lanewise(VectorOperators.LSHR, s12).mul(c3));
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + 128);
        a2.intoArray(acc, ao + 256);
        a3.intoArray(acc, ao + 384);
    }

    /**
     * Σ hi·x over two high-bit rows (one sub-block) of the four rows (row j's row h at {@code q + 64j + 256h}), each
     * multiplier loaded once for the four: 16-bit lanes of row j into {@code acc[ao + 128j ..]}. Two fields at a time,
     * so that no more than eight vectors of multipliers are live.
     */
    private static void crumbs4(MemorySegment w, long q, short[] ch, int co, short[] acc, int ao) {
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < 16; k += 2) {
            int h = k / 8, f = k % 8;
            int ci = co + 256 * h + 32 * f;
            ShortVector c0 = ShortVector.fromArray(S, ch, ci), c1 = ShortVector.fromArray(S, ch, ci + 32);
            ShortVector n0 = ShortVector.broadcast(S, (short) (2 * f)), n1 = ShortVector.broadcast(S, (short) (2 * f + 2));
            long o = q + (long) LanesFormat.PAIR_STRIDE * h;
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
            a0 = a0.add(w0.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w0.lanewise(VectorOperators.LSHR, n1).mul(c1));
            a1 = a1.add(w1.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w1.lanewise(VectorOperators.LSHR, n1).mul(c1));
            a2 = a2.add(w2.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w2.lanewise(VectorOperators.LSHR, n1).mul(c1));
            a3 = a3.add(w3.lanewise(VectorOperators.LSHR, n0).mul(c0)).add(w3.lanewise(VectorOperators.LSHR, n1).mul(c1));
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + 128);
        a2.intoArray(acc, ao + 256);
        a3.intoArray(acc, ao + 384);
    }

    /**
     * One row of a lane group decoded for the tiles: q − 32 (−32..31) of element e of block l at {@code panel[po + 32e + l]}.
     */
    static void decode(MemorySegment w, long record, int j, short[] panel, int po) {
        long q = LanesFormat.quants(record, j), h = Q6KLanesFormat.high(record, j);
        for (int p = 0; p < 8; p++) {
            ShortVector v = ShortVector.fromMemorySegment(S, w, q + (long) LanesFormat.PAIR_STRIDE * p, LE);
            ShortVector u = ShortVector.fromMemorySegment(S, w, h + (long) LanesFormat.PAIR_STRIDE * (p / 2), LE);
            for (int k = 0; k < 4; k++) {
                int e = 4 * p + k;
                v.lanewise(VectorOperators.LSHR, 4 * k).and((short) 15)
                        .or(u.lanewise(VectorOperators.LSHR, 2 * (e % 8)).and((short) 3).lanewise(VectorOperators.LSHL, 4))
                        .sub((short) 32).intoArray(panel, po + 32 * e);
            }
        }
    }

    /**
     * A row's scales for one lane group, from its scale section: d (f16) of the super-block of lane k's blocks (lane k
     * holds blocks 2k and 2k + 1, of super-block k / 4) into {@code dw[dwo .. dwo + 16)}, and the int8 sub-block scales
     * sc of A even, A odd, B even, B odd (16 each, {@link #tileSums}' order) into {@code sc[so .. so + 64)}.
     */
    static void scales(MemorySegment w, long sec, float[] dw, int dwo, int[] sc, int so) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector hm = h.and(HalfScales.MAGNITUDE_4), hs = HalfScales.ONE.sub(hm.lanewise(VectorOperators.LSHR, 10).min(1)); // HalfScales.toFloats, written out
        hm.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(hs.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                .sub(hs.neg().and(113 << 23).reinterpretAsFloats()).reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().rearrange(D).intoArray(dw, dwo);
        for (int k = 0; k < 4; k++) {
            ((IntVector) ByteVector.fromMemorySegment(B, w, sec + 8 + 16 * k, LE).convertShape(VectorOperators.B2I, I, 0)).intoArray(sc, so + 16 * k);
        }
    }

    /**
     * The tiles' T of one (row, token) lane group: the sums of (q − 32)·x over elements 0..7, 8..15, 16..23, 24..31 of
     * each block at {@code acc[a0]}, {@code acc[a1]}, {@code acc[b0]}, {@code acc[b1]} (each within 16 bits: 8·32·127 <
     * 2^15), added in 32 bits: TA_e, TA_o, TB_e, TB_o into {@code t[0 ..]}, {@code [16 ..]}, {@code [32 ..]}, {@code [48 ..]}.
     */
    static void tileSums(short[] acc, int a0, int a1, int b0, int b1, int[] t) {
        IntVector x0 = ShortVector.fromArray(S, acc, a0).reinterpretAsInts(), x1 = ShortVector.fromArray(S, acc, a1).reinterpretAsInts();
        IntVector y0 = ShortVector.fromArray(S, acc, b0).reinterpretAsInts(), y1 = ShortVector.fromArray(S, acc, b1).reinterpretAsInts();
        x0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(x1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).intoArray(t, 0);
        x0.lanewise(VectorOperators.ASHR, 16).add(x1.lanewise(VectorOperators.ASHR, 16)).intoArray(t, 16);
        y0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(y1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).intoArray(t, 32);
        y0.lanewise(VectorOperators.ASHR, 16).add(y1.lanewise(VectorOperators.ASHR, 16)).intoArray(t, 48);
    }

    /**
     * {@code facc[fo .. fo + 16)} += one (row, token) lane group, as llama.cpp's q6_K · q8_K dot sums a super-block:
     * the exact integer I = Σ sc·T over lane k's four sub-blocks (|I| ≤ 4·127·16·32·127 &lt; 2^31), then
     * {@code facc = fma(float(I), dw·xd, facc)}; T from {@code t} ({@link #tileSums}' layout), sc and dw from {@link #scales}
     * ({@code sc[so ..]}, {@code dw[dwo ..]}), the token's scales {@code xs[xo ..]} (even blocks: lane k's super-block).
     */
    static void flush(int[] t, int[] sc, int so, float[] dw, int dwo, float[] xs, int xo, float[] facc, int fo) {
        IntVector i = IntVector.fromArray(I, t, 0).mul(IntVector.fromArray(I, sc, so))
                .add(IntVector.fromArray(I, t, 16).mul(IntVector.fromArray(I, sc, so + 16)))
                .add(IntVector.fromArray(I, t, 32).mul(IntVector.fromArray(I, sc, so + 32)))
                .add(IntVector.fromArray(I, t, 48).mul(IntVector.fromArray(I, sc, so + 48)));
        ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, dw, dwo).mul(FloatVector.fromArray(F, xs, xo)),
                FloatVector.fromArray(F, facc, fo)).intoArray(facc, fo);
    }

    /**
     * Decode's scale step for a record's four rows and one token: per row, T = lo + 16·hi − 32·Σx per sub-block from the
     * block sums lo A, lo B, hi A, hi B at {@code acc[128j ..]}, {@code [128j + 32 ..]}, {@code [128j + 64 ..]},
     * {@code [128j + 96 ..]} and the token's half sums {@code halves[so ..]} (A, then B at +32), then {@link #flush} with
     * {@link #scales}' values, written out in one method so that nothing goes through memory between them: the same
     * operations on the same values.
     */
    static void flushRows4(MemorySegment w, long record, short[] acc, short[] halves, int so, float[] xs, int xo, float[] facc) {
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        IntVector sa = ShortVector.fromArray(S, halves, so).reinterpretAsInts(), sb = ShortVector.fromArray(S, halves, so + 32).reinterpretAsInts();
        IntVector sae = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 5);
        IntVector sao = sa.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 5);
        IntVector sbe = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 5);
        IntVector sbo = sb.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 5);
        for (int j = 0; j < 4; j++) {
            long sec = Q6KLanesFormat.section(record, j);
            int ao = 128 * j;
            IntVector la = ShortVector.fromArray(S, acc, ao).reinterpretAsInts(), lb = ShortVector.fromArray(S, acc, ao + 32).reinterpretAsInts();
            IntVector ha = ShortVector.fromArray(S, acc, ao + 64).reinterpretAsInts(), hb = ShortVector.fromArray(S, acc, ao + 96).reinterpretAsInts();
            IntVector tae = la.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(ha.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4)).sub(sae);
            IntVector tao = la.lanewise(VectorOperators.ASHR, 16).add(ha.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4)).sub(sao);
            IntVector tbe = lb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(hb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4)).sub(sbe);
            IntVector tbo = lb.lanewise(VectorOperators.ASHR, 16).add(hb.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.LSHL, 4)).sub(sbo);
            IntVector i = tae.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 8, LE).convertShape(VectorOperators.B2I, I, 0))
                    .add(tao.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 24, LE).convertShape(VectorOperators.B2I, I, 0)))
                    .add(tbe.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 40, LE).convertShape(VectorOperators.B2I, I, 0)))
                    .add(tbo.mul((IntVector) ByteVector.fromMemorySegment(B, w, sec + 56, LE).convertShape(VectorOperators.B2I, I, 0)));
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, w, sec, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector hm = h.and(HalfScales.MAGNITUDE_4), hs = HalfScales.ONE.sub(hm.lanewise(VectorOperators.LSHR, 10).min(1)); // HalfScales.toFloats, written out
            FloatVector dw = hm.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(hs.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                    .sub(hs.neg().and(113 << 23).reinterpretAsFloats()).reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().rearrange(D);
            ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(dw.mul(xe), FloatVector.fromArray(F, facc, 16 * j)).intoArray(facc, 16 * j);
        }
    }
}
