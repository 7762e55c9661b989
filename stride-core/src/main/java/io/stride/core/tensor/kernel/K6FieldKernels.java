package io.stride.core.tensor.kernel;

import io.stride.core.tensor.repack.Q6KFieldsFormat;
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
 * The kernels of the integer products of {@link Q6KFieldsFormat} weights. Decode ({@link #rows4}) multiplies each
 * quarter block's three lanes unmasked: with the quarter's 48-bit string split into lanes w0, w1, w2 and the
 * activations x0..x7 of its elements, the multipliers mi = xi − 64·x(i−1) (m0 = x0; {@link FieldMultipliers#multipliers6f})
 * give
 * <pre>w0·m0 + (w0 >>> 6)·m1 + (w0 >>> 12)·m2 + (w1 &lt;&lt; 4)·x2 + (w1 >>> 2)·m3 + (w1 >>> 8)·m4 + (w1 >>> 14)·m5
 *   + (w2 &lt;&lt; 2)·x5 + (w2 >>> 4)·m6 + (w2 >>> 10)·m7 = Σ qi·xi  (mod 2^16)</pre>
 * (each lane's pieces telescope; the pieces of elements 2 and 5 in w1 and w2 are their high bits, hence x2·16 and
 * x5·4), and 32·Σx of the quarter ({@link Q8Activations#k5}) is subtracted: exact 16-bit sums of (q − 32)·x over
 * quarters (8·32·127 &lt; 2^15), the tiles' quarter sums ({@link K6LaneKernels#tileSums}) of the {@link #decode}d
 * q − 32; {@link #flushRows4} scales them as {@link K6LaneKernels#flush} does, so every path gives the same bits.
 */
public final class K6FieldKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    /** lane k takes super-block k / 4's d (lanes 0..3 of the converted section) */
    private static final VectorShuffle<Float> D = VectorShuffle.fromValues(F, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ShortVector SHIFT_2 = ShortVector.broadcast(S, (short) 2), SHIFT_4 = ShortVector.broadcast(S, (short) 4),
            SHIFT_6 = ShortVector.broadcast(S, (short) 6), SHIFT_8 = ShortVector.broadcast(S, (short) 8),
            SHIFT_10 = ShortVector.broadcast(S, (short) 10), SHIFT_12 = ShortVector.broadcast(S, (short) 12),
            SHIFT_14 = ShortVector.broadcast(S, (short) 14);

    private K6FieldKernels() {}

    /**
     * A record's four rows times one token's lane group: row j's quarter sums (elements 8k..8k + 7 of each block) into
     * {@code acc[128j + 32k ..]}. Multipliers of quarter k at {@code c[co + 256k + 32i ..]} (i = 0..7),
     * the raw activations of element e at {@code x[xo + 32e ..]}, the quarter's 32·Σx at {@code k6[ko + 32k ..]}.
     */
    static void rows4(MemorySegment w, long record, short[] c, int co, short[] x, int xo, short[] k6, int ko, short[] acc) {
        for (int k = 0; k < 4; k++) quarter4(w, record, c, co + 256 * k, x, xo + 256 * k, k6, ko + 32 * k, k, acc);
    }

    private static void quarter4(MemorySegment w, long record, short[] c, int cq, short[] x, int xq, short[] k6, int kq, int k, short[] acc) {
        // shift counts as vectors (see LaneKernels#rows4)
        ShortVector s2 = SHIFT_2, s4 = SHIFT_4, s6 = SHIFT_6, s8 = SHIFT_8, s10 = SHIFT_10, s12 = SHIFT_12, s14 = SHIFT_14;
        ShortVector m0 = ShortVector.fromArray(S, c, cq), m1 = ShortVector.fromArray(S, c, cq + 32), m2 = ShortVector.fromArray(S, c, cq + 64);
        ShortVector a0, a1, a2, a3;
        long o = Q6KFieldsFormat.lane(record, 0, 3 * k);
        {
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o + 192, LE);
            a0 = w0.mul(m0).add(w0.lanewise(VectorOperators.LSHR, s6).mul(m1)).add(w0.lanewise(VectorOperators.LSHR, s12).mul(m2));
            a1 = w1.mul(m0).add(w1.lanewise(VectorOperators.LSHR, s6).mul(m1)).add(w1.lanewise(VectorOperators.LSHR, s12).mul(m2));
            a2 = w2.mul(m0).add(w2.lanewise(VectorOperators.LSHR, s6).mul(m1)).add(w2.lanewise(VectorOperators.LSHR, s12).mul(m2));
            a3 = w3.mul(m0).add(w3.lanewise(VectorOperators.LSHR, s6).mul(m1)).add(w3.lanewise(VectorOperators.LSHR, s12).mul(m2));
        }
        {
            ShortVector x2 = ShortVector.fromArray(S, x, xq + 64);
            ShortVector m3 = ShortVector.fromArray(S, c, cq + 96), m4 = ShortVector.fromArray(S, c, cq + 128), m5 = ShortVector.fromArray(S, c, cq + 160);
            long o1 = o + 256;
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o1, LE), w1 = ShortVector.fromMemorySegment(S, w, o1 + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o1 + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o1 + 192, LE);
            a0 = a0.add(w0.lanewise(VectorOperators.LSHL, s4).mul(x2)).add(w0.lanewise(VectorOperators.LSHR, s2).mul(m3))
                    .add(w0.lanewise(VectorOperators.LSHR, s8).mul(m4)).add(w0.lanewise(VectorOperators.LSHR, s14).mul(m5));
            a1 = a1.add(w1.lanewise(VectorOperators.LSHL, s4).mul(x2)).add(w1.lanewise(VectorOperators.LSHR, s2).mul(m3))
                    .add(w1.lanewise(VectorOperators.LSHR, s8).mul(m4)).add(w1.lanewise(VectorOperators.LSHR, s14).mul(m5));
            a2 = a2.add(w2.lanewise(VectorOperators.LSHL, s4).mul(x2)).add(w2.lanewise(VectorOperators.LSHR, s2).mul(m3))
                    .add(w2.lanewise(VectorOperators.LSHR, s8).mul(m4)).add(w2.lanewise(VectorOperators.LSHR, s14).mul(m5));
            a3 = a3.add(w3.lanewise(VectorOperators.LSHL, s4).mul(x2)).add(w3.lanewise(VectorOperators.LSHR, s2).mul(m3))
                    .add(w3.lanewise(VectorOperators.LSHR, s8).mul(m4)).add(w3.lanewise(VectorOperators.LSHR, s14).mul(m5));
        }
        {
            ShortVector x5 = ShortVector.fromArray(S, x, xq + 160);
            ShortVector m6 = ShortVector.fromArray(S, c, cq + 192), m7 = ShortVector.fromArray(S, c, cq + 224);
            long o2 = o + 512;
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o2, LE), w1 = ShortVector.fromMemorySegment(S, w, o2 + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o2 + 128, LE), w3 = ShortVector.fromMemorySegment(S, w, o2 + 192, LE);
            a0 = a0.add(w0.lanewise(VectorOperators.LSHL, s2).mul(x5)).add(w0.lanewise(VectorOperators.LSHR, s4).mul(m6)).add(w0.lanewise(VectorOperators.LSHR, s10).mul(m7));
            a1 = a1.add(w1.lanewise(VectorOperators.LSHL, s2).mul(x5)).add(w1.lanewise(VectorOperators.LSHR, s4).mul(m6)).add(w1.lanewise(VectorOperators.LSHR, s10).mul(m7));
            a2 = a2.add(w2.lanewise(VectorOperators.LSHL, s2).mul(x5)).add(w2.lanewise(VectorOperators.LSHR, s4).mul(m6)).add(w2.lanewise(VectorOperators.LSHR, s10).mul(m7));
            a3 = a3.add(w3.lanewise(VectorOperators.LSHL, s2).mul(x5)).add(w3.lanewise(VectorOperators.LSHR, s4).mul(m6)).add(w3.lanewise(VectorOperators.LSHR, s10).mul(m7));
        }
        ShortVector d = ShortVector.fromArray(S, k6, kq);
        a0.sub(d).intoArray(acc, 32 * k);
        a1.sub(d).intoArray(acc, 128 + 32 * k);
        a2.sub(d).intoArray(acc, 256 + 32 * k);
        a3.sub(d).intoArray(acc, 384 + 32 * k);
    }

    /** One row of a lane group decoded for the tiles: q − 32 of element e of block l at {@code panel[po + 32e + l]}. */
    static void decode(MemorySegment w, long record, int j, short[] panel, int po) {
        ShortVector s2 = SHIFT_2, s4 = SHIFT_4, s6 = SHIFT_6, s8 = SHIFT_8, s10 = SHIFT_10, s12 = SHIFT_12, s14 = SHIFT_14;
        for (int k = 0; k < 4; k++) {
            long o = Q6KFieldsFormat.lane(record, j, 3 * k);
            ShortVector w0 = ShortVector.fromMemorySegment(S, w, o, LE), w1 = ShortVector.fromMemorySegment(S, w, o + 256, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, w, o + 512, LE);
            int p = po + 256 * k;
            w0.and((short) 63).sub((short) 32).intoArray(panel, p);
            w0.lanewise(VectorOperators.LSHR, s6).and((short) 63).sub((short) 32).intoArray(panel, p + 32);
            w0.lanewise(VectorOperators.LSHR, s12).or(w1.lanewise(VectorOperators.LSHL, s4).and((short) 0x30)).sub((short) 32).intoArray(panel, p + 64);
            w1.lanewise(VectorOperators.LSHR, s2).and((short) 63).sub((short) 32).intoArray(panel, p + 96);
            w1.lanewise(VectorOperators.LSHR, s8).and((short) 63).sub((short) 32).intoArray(panel, p + 128);
            w1.lanewise(VectorOperators.LSHR, s14).or(w2.lanewise(VectorOperators.LSHL, s2).and((short) 0x3c)).sub((short) 32).intoArray(panel, p + 160);
            w2.lanewise(VectorOperators.LSHR, s4).and((short) 63).sub((short) 32).intoArray(panel, p + 192);
            w2.lanewise(VectorOperators.LSHR, s10).sub((short) 32).intoArray(panel, p + 224);
        }
    }

    /**
     * Decode's scale step for a record's four rows (their scale sections from {@code sections} on, as
     * {@link Q6KLanesFormat#section} lays them out) and one token: per row, T of each sub-block from its two quarter sums
     * ({@code acc} as {@link #rows4} left it), I = Σ sc·T and {@code facc[16j ..] = fma(float(I), d·xd, facc)}: the
     * integers and float operations of {@link K6LaneKernels#tileSums} and {@link K6LaneKernels#flush}, written out in one
     * method so that nothing goes through memory between them.
     */
    static void flushRows4(MemorySegment w, long sections, short[] acc, float[] xs, int xo, float[] facc) {
        FloatVector xe = FloatVector.fromArray(F, xs, xo);
        for (int j = 0; j < 4; j++) {
            long sec = sections + (long) Q6KLanesFormat.SECTION * j;
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
