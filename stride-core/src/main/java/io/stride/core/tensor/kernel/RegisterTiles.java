package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Register tiles of a multi-token product (prefill): four decoded weight rows times four, two or one activation rows,
 * one vector accumulator per (row, token) pair, so that every loaded weight vector serves several tokens and every
 * loaded activation vector serves four rows.
 *
 * <p>Operands are in 64-byte-aligned native memory (a vector load that straddles two cache lines costs about twice
 * as much; heap arrays give no alignment), laid out by {@link #layOut} (even chunks, odd chunks, tail), with row
 * strides that are whole vectors. A tile call covers one byte range {@code [from, to)} of the reduction dimension and parks its
 * accumulators in {@code park} (per token, the four rows' vectors), so that the caller can walk the reduction
 * dimension in blocks small enough for a panel's block and an activation tile's block to stay in L1 together.
 * Within each accumulator the chunks still come in increasing order, and the even and odd chunks' accumulators are
 * added before the lane sum: every output has the bits of {@link VectorMath#dot}.
 */
public final class RegisterTiles {
    private static final VectorSpecies<Float> F = VectorMath.F;
    private static final int L = VectorMath.LANES;
    private static final long VB = 4L * L;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorMask<Float> H1 = VectorMath.HIGH_1, H2 = VectorMath.HIGH_2, H3 = VectorMath.HIGH_3, H4 = VectorMath.HIGH_4;
    private static final VectorShuffle<Float> S1 = VectorMath.SWAP_1, S2 = VectorMath.SWAP_2, S3 = VectorMath.SWAP_3, S4 = VectorMath.SWAP_4;
    /**
     * The tile loops' stride in bytes (one vector), read from a field that is not final so that the JIT does not see a
     * constant stride: with one it unrolls the 4x4 loop, chains each accumulator's FMAs and spills accumulators.
     */
    private static long step = VB;

    private RegisterTiles() {}

    /** Floats per row in a tile operand of {@code n} values: whole 64-byte lines, plus one line so that rows do not map to the same L1 sets. */
    public static int rowStride(int n) {
        return (n + 15) / 16 * 16 + 16;
    }

    /**
     * Writes {@code n} values into a tile operand row at byte {@code dstOff}: the even chunks of {@link #L} values, then
     * the odd ones (the canonical dot product's two accumulators each read one contiguous stream), then the scalar tail.
     */
    public static void layOut(float[] src, int srcOff, MemorySegment dst, long dstOff, int n) {
        int chunks = n / L;
        long odd = dstOff + 4L * VectorMath.evenLength(n);
        int c = 0;
        for (; c + 1 < chunks; c += 2) {
            FloatVector.fromArray(F, src, srcOff + c * L).intoMemorySegment(dst, dstOff + (c >> 1) * VB, LE);
            FloatVector.fromArray(F, src, srcOff + (c + 1) * L).intoMemorySegment(dst, odd + (c >> 1) * VB, LE);
        }
        if (c < chunks) {
            FloatVector.fromArray(F, src, srcOff + c * L).intoMemorySegment(dst, dstOff + (c >> 1) * VB, LE);
        }
        MemorySegment.copy(src, srcOff + chunks * L, dst, ValueLayout.JAVA_FLOAT, dstOff + chunks * VB, n - chunks * L);
    }

    /**
     * Rows {@code w + w0 + i·ws} (i &lt; 4) times activation rows {@code x + x0 + j·xs} (j &lt; 4) over bytes [from, to):
     * accumulator (i, j) starts from zero when {@code first}, else from park[p + (4j + i)·L], and is parked there.
     */
    public static void tile4x4(MemorySegment w, long w0, long ws, MemorySegment x, long x0, long xs, long from, long to, boolean first, float[] park, int p) {
        FloatVector a00, a10, a20, a30, a01, a11, a21, a31, a02, a12, a22, a32, a03, a13, a23, a33;
        if (first) {
            a00 = a10 = a20 = a30 = a01 = a11 = a21 = a31 = a02 = a12 = a22 = a32 = a03 = a13 = a23 = a33 = FloatVector.zero(F);
        } else {
            a00 = FloatVector.fromArray(F, park, p);
            a10 = FloatVector.fromArray(F, park, p + L);
            a20 = FloatVector.fromArray(F, park, p + 2 * L);
            a30 = FloatVector.fromArray(F, park, p + 3 * L);
            a01 = FloatVector.fromArray(F, park, p + 4 * L);
            a11 = FloatVector.fromArray(F, park, p + 5 * L);
            a21 = FloatVector.fromArray(F, park, p + 6 * L);
            a31 = FloatVector.fromArray(F, park, p + 7 * L);
            a02 = FloatVector.fromArray(F, park, p + 8 * L);
            a12 = FloatVector.fromArray(F, park, p + 9 * L);
            a22 = FloatVector.fromArray(F, park, p + 10 * L);
            a32 = FloatVector.fromArray(F, park, p + 11 * L);
            a03 = FloatVector.fromArray(F, park, p + 12 * L);
            a13 = FloatVector.fromArray(F, park, p + 13 * L);
            a23 = FloatVector.fromArray(F, park, p + 14 * L);
            a33 = FloatVector.fromArray(F, park, p + 15 * L);
        }
        for (long k = from; k < to; k += step) {
            FloatVector x0v = FloatVector.fromMemorySegment(F, x, x0 + k, LE);
            FloatVector x1v = FloatVector.fromMemorySegment(F, x, x0 + xs + k, LE);
            FloatVector x2v = FloatVector.fromMemorySegment(F, x, x0 + 2 * xs + k, LE);
            FloatVector x3v = FloatVector.fromMemorySegment(F, x, x0 + 3 * xs + k, LE);
            FloatVector w0v = FloatVector.fromMemorySegment(F, w, w0 + k, LE);
            a00 = w0v.fma(x0v, a00);
            a01 = w0v.fma(x1v, a01);
            a02 = w0v.fma(x2v, a02);
            a03 = w0v.fma(x3v, a03);
            FloatVector w1v = FloatVector.fromMemorySegment(F, w, w0 + ws + k, LE);
            a10 = w1v.fma(x0v, a10);
            a11 = w1v.fma(x1v, a11);
            a12 = w1v.fma(x2v, a12);
            a13 = w1v.fma(x3v, a13);
            FloatVector w2v = FloatVector.fromMemorySegment(F, w, w0 + 2 * ws + k, LE);
            a20 = w2v.fma(x0v, a20);
            a21 = w2v.fma(x1v, a21);
            a22 = w2v.fma(x2v, a22);
            a23 = w2v.fma(x3v, a23);
            FloatVector w3v = FloatVector.fromMemorySegment(F, w, w0 + 3 * ws + k, LE);
            a30 = w3v.fma(x0v, a30);
            a31 = w3v.fma(x1v, a31);
            a32 = w3v.fma(x2v, a32);
            a33 = w3v.fma(x3v, a33);
        }
        a00.intoArray(park, p);
        a10.intoArray(park, p + L);
        a20.intoArray(park, p + 2 * L);
        a30.intoArray(park, p + 3 * L);
        a01.intoArray(park, p + 4 * L);
        a11.intoArray(park, p + 5 * L);
        a21.intoArray(park, p + 6 * L);
        a31.intoArray(park, p + 7 * L);
        a02.intoArray(park, p + 8 * L);
        a12.intoArray(park, p + 9 * L);
        a22.intoArray(park, p + 10 * L);
        a32.intoArray(park, p + 11 * L);
        a03.intoArray(park, p + 12 * L);
        a13.intoArray(park, p + 13 * L);
        a23.intoArray(park, p + 14 * L);
        a33.intoArray(park, p + 15 * L);
    }

    /**
     * {@link #tile4x4}'s work for eight panel rows and three activation rows: two four-row halves sharing each loaded
     * activation vector (24 accumulators, 11 loads per 24 FMAs instead of 8 per 16). Rows 0–3 park at park[p + (4j + i)·L], rows 4–7 at
     * park[pHigh + (4j + i − 4)·L].
     */
    public static void tile8x3(MemorySegment w, long w0, long ws, MemorySegment x, long x0, long xs, long from, long to, boolean first, float[] park, int p, int pHigh) {
        FloatVector a00, a10, a20, a30, a40, a50, a60, a70, a01, a11, a21, a31;
        FloatVector a41, a51, a61, a71, a02, a12, a22, a32, a42, a52, a62, a72;
        if (first) {
            a00 = a10 = a20 = a30 = a40 = a50 = a60 = a70 = a01 = a11 = a21 = a31 = a41 = a51 = a61 = a71 = a02 = a12 = a22 = a32 = a42 = a52 = a62 = a72 = FloatVector.zero(F);
        } else {
            a00 = FloatVector.fromArray(F, park, p);
            a10 = FloatVector.fromArray(F, park, p + 1 * L);
            a20 = FloatVector.fromArray(F, park, p + 2 * L);
            a30 = FloatVector.fromArray(F, park, p + 3 * L);
            a40 = FloatVector.fromArray(F, park, pHigh);
            a50 = FloatVector.fromArray(F, park, pHigh + 1 * L);
            a60 = FloatVector.fromArray(F, park, pHigh + 2 * L);
            a70 = FloatVector.fromArray(F, park, pHigh + 3 * L);
            a01 = FloatVector.fromArray(F, park, p + 4 * L);
            a11 = FloatVector.fromArray(F, park, p + 5 * L);
            a21 = FloatVector.fromArray(F, park, p + 6 * L);
            a31 = FloatVector.fromArray(F, park, p + 7 * L);
            a41 = FloatVector.fromArray(F, park, pHigh + 4 * L);
            a51 = FloatVector.fromArray(F, park, pHigh + 5 * L);
            a61 = FloatVector.fromArray(F, park, pHigh + 6 * L);
            a71 = FloatVector.fromArray(F, park, pHigh + 7 * L);
            a02 = FloatVector.fromArray(F, park, p + 8 * L);
            a12 = FloatVector.fromArray(F, park, p + 9 * L);
            a22 = FloatVector.fromArray(F, park, p + 10 * L);
            a32 = FloatVector.fromArray(F, park, p + 11 * L);
            a42 = FloatVector.fromArray(F, park, pHigh + 8 * L);
            a52 = FloatVector.fromArray(F, park, pHigh + 9 * L);
            a62 = FloatVector.fromArray(F, park, pHigh + 10 * L);
            a72 = FloatVector.fromArray(F, park, pHigh + 11 * L);
        }
        for (long k = from; k < to; k += step) {
            FloatVector x0v = FloatVector.fromMemorySegment(F, x, x0 + k, LE);
            FloatVector x1v = FloatVector.fromMemorySegment(F, x, x0 + xs + k, LE);
            FloatVector x2v = FloatVector.fromMemorySegment(F, x, x0 + 2 * xs + k, LE);
            FloatVector w0v = FloatVector.fromMemorySegment(F, w, w0 + k, LE);
            a00 = w0v.fma(x0v, a00);
            a01 = w0v.fma(x1v, a01);
            a02 = w0v.fma(x2v, a02);
            FloatVector w1v = FloatVector.fromMemorySegment(F, w, w0 + ws + k, LE);
            a10 = w1v.fma(x0v, a10);
            a11 = w1v.fma(x1v, a11);
            a12 = w1v.fma(x2v, a12);
            FloatVector w2v = FloatVector.fromMemorySegment(F, w, w0 + 2 * ws + k, LE);
            a20 = w2v.fma(x0v, a20);
            a21 = w2v.fma(x1v, a21);
            a22 = w2v.fma(x2v, a22);
            FloatVector w3v = FloatVector.fromMemorySegment(F, w, w0 + 3 * ws + k, LE);
            a30 = w3v.fma(x0v, a30);
            a31 = w3v.fma(x1v, a31);
            a32 = w3v.fma(x2v, a32);
            FloatVector w4v = FloatVector.fromMemorySegment(F, w, w0 + 4 * ws + k, LE);
            a40 = w4v.fma(x0v, a40);
            a41 = w4v.fma(x1v, a41);
            a42 = w4v.fma(x2v, a42);
            FloatVector w5v = FloatVector.fromMemorySegment(F, w, w0 + 5 * ws + k, LE);
            a50 = w5v.fma(x0v, a50);
            a51 = w5v.fma(x1v, a51);
            a52 = w5v.fma(x2v, a52);
            FloatVector w6v = FloatVector.fromMemorySegment(F, w, w0 + 6 * ws + k, LE);
            a60 = w6v.fma(x0v, a60);
            a61 = w6v.fma(x1v, a61);
            a62 = w6v.fma(x2v, a62);
            FloatVector w7v = FloatVector.fromMemorySegment(F, w, w0 + 7 * ws + k, LE);
            a70 = w7v.fma(x0v, a70);
            a71 = w7v.fma(x1v, a71);
            a72 = w7v.fma(x2v, a72);
        }
        a00.intoArray(park, p);
        a10.intoArray(park, p + 1 * L);
        a20.intoArray(park, p + 2 * L);
        a30.intoArray(park, p + 3 * L);
        a40.intoArray(park, pHigh);
        a50.intoArray(park, pHigh + 1 * L);
        a60.intoArray(park, pHigh + 2 * L);
        a70.intoArray(park, pHigh + 3 * L);
        a01.intoArray(park, p + 4 * L);
        a11.intoArray(park, p + 5 * L);
        a21.intoArray(park, p + 6 * L);
        a31.intoArray(park, p + 7 * L);
        a41.intoArray(park, pHigh + 4 * L);
        a51.intoArray(park, pHigh + 5 * L);
        a61.intoArray(park, pHigh + 6 * L);
        a71.intoArray(park, pHigh + 7 * L);
        a02.intoArray(park, p + 8 * L);
        a12.intoArray(park, p + 9 * L);
        a22.intoArray(park, p + 10 * L);
        a32.intoArray(park, p + 11 * L);
        a42.intoArray(park, pHigh + 8 * L);
        a52.intoArray(park, pHigh + 9 * L);
        a62.intoArray(park, pHigh + 10 * L);
        a72.intoArray(park, pHigh + 11 * L);
    }

    /** {@link #tile4x4} for two activation rows. */
    public static void tile4x2(MemorySegment w, long w0, long ws, MemorySegment x, long x0, long xs, long from, long to, boolean first, float[] park, int p) {
        FloatVector a00, a10, a20, a30, a01, a11, a21, a31;
        if (first) {
            a00 = a10 = a20 = a30 = a01 = a11 = a21 = a31 = FloatVector.zero(F);
        } else {
            a00 = FloatVector.fromArray(F, park, p);
            a10 = FloatVector.fromArray(F, park, p + L);
            a20 = FloatVector.fromArray(F, park, p + 2 * L);
            a30 = FloatVector.fromArray(F, park, p + 3 * L);
            a01 = FloatVector.fromArray(F, park, p + 4 * L);
            a11 = FloatVector.fromArray(F, park, p + 5 * L);
            a21 = FloatVector.fromArray(F, park, p + 6 * L);
            a31 = FloatVector.fromArray(F, park, p + 7 * L);
        }
        for (long k = from; k < to; k += step) {
            FloatVector x0v = FloatVector.fromMemorySegment(F, x, x0 + k, LE);
            FloatVector x1v = FloatVector.fromMemorySegment(F, x, x0 + xs + k, LE);
            FloatVector w0v = FloatVector.fromMemorySegment(F, w, w0 + k, LE);
            a00 = w0v.fma(x0v, a00);
            a01 = w0v.fma(x1v, a01);
            FloatVector w1v = FloatVector.fromMemorySegment(F, w, w0 + ws + k, LE);
            a10 = w1v.fma(x0v, a10);
            a11 = w1v.fma(x1v, a11);
            FloatVector w2v = FloatVector.fromMemorySegment(F, w, w0 + 2 * ws + k, LE);
            a20 = w2v.fma(x0v, a20);
            a21 = w2v.fma(x1v, a21);
            FloatVector w3v = FloatVector.fromMemorySegment(F, w, w0 + 3 * ws + k, LE);
            a30 = w3v.fma(x0v, a30);
            a31 = w3v.fma(x1v, a31);
        }
        a00.intoArray(park, p);
        a10.intoArray(park, p + L);
        a20.intoArray(park, p + 2 * L);
        a30.intoArray(park, p + 3 * L);
        a01.intoArray(park, p + 4 * L);
        a11.intoArray(park, p + 5 * L);
        a21.intoArray(park, p + 6 * L);
        a31.intoArray(park, p + 7 * L);
    }

    /** {@link #tile4x4} for one activation row. */
    public static void tile4x1(MemorySegment w, long w0, long ws, MemorySegment x, long x0, long from, long to, boolean first, float[] park, int p) {
        FloatVector a00, a10, a20, a30;
        if (first) {
            a00 = a10 = a20 = a30 = FloatVector.zero(F);
        } else {
            a00 = FloatVector.fromArray(F, park, p);
            a10 = FloatVector.fromArray(F, park, p + L);
            a20 = FloatVector.fromArray(F, park, p + 2 * L);
            a30 = FloatVector.fromArray(F, park, p + 3 * L);
        }
        for (long k = from; k < to; k += step) {
            FloatVector x0v = FloatVector.fromMemorySegment(F, x, x0 + k, LE);
            a00 = FloatVector.fromMemorySegment(F, w, w0 + k, LE).fma(x0v, a00);
            a10 = FloatVector.fromMemorySegment(F, w, w0 + ws + k, LE).fma(x0v, a10);
            a20 = FloatVector.fromMemorySegment(F, w, w0 + 2 * ws + k, LE).fma(x0v, a20);
            a30 = FloatVector.fromMemorySegment(F, w, w0 + 3 * ws + k, LE).fma(x0v, a30);
        }
        a00.intoArray(park, p);
        a10.intoArray(park, p + L);
        a20.intoArray(park, p + 2 * L);
        a30.intoArray(park, p + 3 * L);
    }

    /**
     * The outputs of {@code tokens} activation rows against the four panel rows: per (row, token) the parked even
     * and odd accumulators added, lanes summed in {@link VectorMath#sumLanes}'s order, plus the scalar tail
     * (values [end, n)); out[o0 + j·stride + i].
     *
     * <p>With 16 lanes, four tokens' sixteen sums at once in a butterfly: each level merges pairs of vectors so that
     * one half of the lanes carries one input's partial sums and the other half the other's ({@link VectorMath#HIGH_1}),
     * pairing lanes l and l ^ 8, then l ^ 4, l ^ 2, l ^ 1 exactly as sumLanes does.
     * That is 60 vector operations for sixteen outputs instead of 128 (javatiny's 512-wide products, nine tokens:
     * the finish was a quarter of the tile time).
     */
    public static void finish(MemorySegment w, long w0, long ws, MemorySegment x, long x0, long xs, int tokens, int end, int n,
                       float[] park, int even, int odd, float[] tmp, int tmpOff, float[] out, int o0, int stride) {
        for (int j0 = 0; j0 < tokens; j0 += 4) {
            int c = Math.min(4, tokens - j0);
            if (L == 16) {
                butterfly(park, even, odd, 4 * j0 * L, c, tmp, tmpOff);
            }
            for (int j = 0; j < c; j++) {
                int o = o0 + (j0 + j) * stride;
                if (L != 16) {
                    for (int i = 0; i < 4; i++) {
                        int a = (4 * (j0 + j) + i) * L;
                        FloatVector.fromArray(F, park, even + a).add(FloatVector.fromArray(F, park, odd + a)).intoArray(tmp, tmpOff + i * L);
                    }
                    VectorMath.laneSums4(tmp, tmpOff, out, o);
                } else {
                    for (int i = 0; i < 4; i++) out[o + i] = tmp[tmpOff + VectorMath.BUTTERFLY_16[4 * j + i]];
                }
                for (int i = 0; i < 4; i++) {
                    float s = 0;
                    for (int k = end; k < n; k++) {
                        s += w.get(ValueLayout.JAVA_FLOAT, w0 + i * ws + 4L * k) * x.get(ValueLayout.JAVA_FLOAT, x0 + (j0 + j) * xs + 4L * k);
                    }
                    out[o + i] += s;
                }
            }
        }
    }

    /**
     * Lane sums of the sixteen vectors park[even + p + k·L] + park[odd + p + k·L] (k = 4·token + row; tokens ≥ count
     * repeat token 0 and are not used), written to tmp[tmpOff + l] for k = bitReverse4(l).
     */
    private static void butterfly(float[] park, int even, int odd, int p, int count, float[] tmp, int tmpOff) {
        int q1 = count > 1 ? p + 4 * L : p, q2 = count > 2 ? p + 8 * L : p, q3 = count > 3 ? p + 12 * L : p;
        FloatVector v0 = FloatVector.fromArray(F, park, even + p).add(FloatVector.fromArray(F, park, odd + p));
        FloatVector v1 = FloatVector.fromArray(F, park, even + p + L).add(FloatVector.fromArray(F, park, odd + p + L));
        FloatVector v2 = FloatVector.fromArray(F, park, even + p + 2 * L).add(FloatVector.fromArray(F, park, odd + p + 2 * L));
        FloatVector v3 = FloatVector.fromArray(F, park, even + p + 3 * L).add(FloatVector.fromArray(F, park, odd + p + 3 * L));
        FloatVector v4 = FloatVector.fromArray(F, park, even + q1).add(FloatVector.fromArray(F, park, odd + q1));
        FloatVector v5 = FloatVector.fromArray(F, park, even + q1 + L).add(FloatVector.fromArray(F, park, odd + q1 + L));
        FloatVector v6 = FloatVector.fromArray(F, park, even + q1 + 2 * L).add(FloatVector.fromArray(F, park, odd + q1 + 2 * L));
        FloatVector v7 = FloatVector.fromArray(F, park, even + q1 + 3 * L).add(FloatVector.fromArray(F, park, odd + q1 + 3 * L));
        FloatVector v8 = FloatVector.fromArray(F, park, even + q2).add(FloatVector.fromArray(F, park, odd + q2));
        FloatVector v9 = FloatVector.fromArray(F, park, even + q2 + L).add(FloatVector.fromArray(F, park, odd + q2 + L));
        FloatVector v10 = FloatVector.fromArray(F, park, even + q2 + 2 * L).add(FloatVector.fromArray(F, park, odd + q2 + 2 * L));
        FloatVector v11 = FloatVector.fromArray(F, park, even + q2 + 3 * L).add(FloatVector.fromArray(F, park, odd + q2 + 3 * L));
        FloatVector v12 = FloatVector.fromArray(F, park, even + q3).add(FloatVector.fromArray(F, park, odd + q3));
        FloatVector v13 = FloatVector.fromArray(F, park, even + q3 + L).add(FloatVector.fromArray(F, park, odd + q3 + L));
        FloatVector v14 = FloatVector.fromArray(F, park, even + q3 + 2 * L).add(FloatVector.fromArray(F, park, odd + q3 + 2 * L));
        FloatVector v15 = FloatVector.fromArray(F, park, even + q3 + 3 * L).add(FloatVector.fromArray(F, park, odd + q3 + 3 * L));
        FloatVector r0 = v0.blend(v1, H1).add(v1.blend(v0, H1).rearrange(S1)), r1 = v2.blend(v3, H1).add(v3.blend(v2, H1).rearrange(S1));
        FloatVector r2 = v4.blend(v5, H1).add(v5.blend(v4, H1).rearrange(S1)), r3 = v6.blend(v7, H1).add(v7.blend(v6, H1).rearrange(S1));
        FloatVector r4 = v8.blend(v9, H1).add(v9.blend(v8, H1).rearrange(S1)), r5 = v10.blend(v11, H1).add(v11.blend(v10, H1).rearrange(S1));
        FloatVector r6 = v12.blend(v13, H1).add(v13.blend(v12, H1).rearrange(S1)), r7 = v14.blend(v15, H1).add(v15.blend(v14, H1).rearrange(S1));
        FloatVector s0 = r0.blend(r1, H2).add(r1.blend(r0, H2).rearrange(S2)), s1 = r2.blend(r3, H2).add(r3.blend(r2, H2).rearrange(S2));
        FloatVector s2 = r4.blend(r5, H2).add(r5.blend(r4, H2).rearrange(S2)), s3 = r6.blend(r7, H2).add(r7.blend(r6, H2).rearrange(S2));
        FloatVector t0 = s0.blend(s1, H3).add(s1.blend(s0, H3).rearrange(S3)), t1 = s2.blend(s3, H3).add(s3.blend(s2, H3).rearrange(S3));
        t0.blend(t1, H4).add(t1.blend(t0, H4).rearrange(S4)).intoArray(tmp, tmpOff);
    }
}
