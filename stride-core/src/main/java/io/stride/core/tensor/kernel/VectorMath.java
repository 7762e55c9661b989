package io.stride.core.tensor.kernel;

import io.stride.core.tensor.format.Bytes;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The canonical accumulation order of every matrix kernel: dot products with two accumulators over even and odd
 * chunks and lane sums in a fixed pairwise order, so an output has the same bits whatever the batch, the kernel
 * shape or the JIT's state. Element-wise layer operations are in {@link LayerOps}. No allocation.
 */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private VectorMath() {}

    /** Lanes per float vector. */
    public static final int LANES = F.length();
    /** with 16 lanes: the lane of a butterfly's result holding input k's sum (16 inputs: bitReverse4(k); 8: 2·bitReverse3(k)) */
    static final int[] BUTTERFLY_16 = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15}, BUTTERFLY_8 = {0, 8, 4, 12, 2, 10, 6, 14};
    /** lane permutations i -> i ^ (L/2), ..., i ^ 1: a fixed pairwise order for summing lanes with vector ops */
    static final VectorShuffle<Float> SWAP_1 = swap(1), SWAP_2 = swap(2), SWAP_3 = swap(3), SWAP_4 = swap(4);
    /**
     * The lanes whose index has the bit that SWAP_level flips (L/2, ..., 1) set. A butterfly sums the lanes of several
     * vectors at once in {@link #sumLanes}'s pairwise order by merging pairs level by level:
     * {@code a.blend(b, HIGH_k).add(b.blend(a, HIGH_k).rearrange(SWAP_k))} gives, outside HIGH_k, a's lanes l + l^bit
     * and, inside, b's (float addition is commutative, so each pair's sum has sumLanes' bits): two blends, one
     * permutation and one add per pair instead of a full reduction per vector. (Written out at each use: a helper
     * taking vectors is not inlined into the large kernels — NodeCountInliningCutoff — and then boxes them.)
     */
    static final VectorMask<Float> HIGH_1 = high(1), HIGH_2 = high(2), HIGH_3 = high(3), HIGH_4 = high(4);

    private static VectorMask<Float> high(int level) {
        int bit = LANES >> level;
        boolean[] m = new boolean[LANES];
        for (int i = 0; i < LANES; i++) m[i] = (i & bit) != 0;
        return VectorMask.fromArray(F, m, 0);
    }

    private static VectorShuffle<Float> swap(int level) {
        int bit = LANES >> level;
        return VectorShuffle.fromOp(F, i -> bit == 0 ? i : i ^ bit);
    }

    /**
     * Sum of {@link #LANES} floats at {@code t[off..]} (a vector's lanes stored with {@code intoArray}) in a fixed
     * pairwise order, in place. Unlike {@code reduceLanes(ADD)}, whose order is unspecified (the JIT intrinsic and
     * the interpreter's fallback differ), this gives the same bits in every compilation state, so results never
     * depend on how warm the JIT is; and it takes an array, not a vector, so a call that is not inlined costs no
     * vector boxing.
     */
    public static float sumLanes(float[] t, int off) {
        for (int h = LANES / 2; h > 0; h >>= 1) {
            for (int i = 0; i < h; i++) {
                t[off + i] += t[off + i + h];
            }
        }
        return t[off];
    }

    /**
     * The canonical dot product: two vector accumulators, one over the even and one over the odd chunks of
     * {@link #LANES} values (chunk c goes to accumulator c mod 2, in increasing c), added (even + odd), their lanes
     * summed in {@link #sumLanes}'s pairwise order, then the scalar remainder summed separately and added. Two
     * chains instead of one halve the FMA latency a single-row product waits on. Every matrix kernel (fused
     * decode, fused multi-token, tiled prefill) computes each output in exactly this order, so a token's result
     * never depends on the batch around it.
     */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n, float[] tmp, int tmpOff) {
        int i = 0;
        int lanes = F.length();
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            even = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), even);
            odd = FloatVector.fromArray(F, a, aOff + i + lanes).fma(FloatVector.fromArray(F, b, bOff + i + lanes), odd);
        }
        if (i + lanes <= n) {
            even = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), even);
            i += lanes;
        }
        FloatVector acc = even.add(odd);
        float lanesSum;
        if (lanes == 16) {
            // the fixed pairwise order of sumLanes, with vector shuffles (written out here so that no vector
            // crosses a method boundary)
            acc = acc.add(acc.rearrange(SWAP_1));
            acc = acc.add(acc.rearrange(SWAP_2));
            acc = acc.add(acc.rearrange(SWAP_3));
            acc = acc.add(acc.rearrange(SWAP_4));
            lanesSum = acc.lane(0);
        } else {
            acc.intoArray(tmp, tmpOff);
            lanesSum = sumLanes(tmp, tmpOff);
        }
        return lanesSum + tail(a, aOff, b, bOff, i, n);
    }

    /**
     * Four canonical dot products at once: rows {@code w[w0 + i*n ..]} (i &lt; 4, natural layout) with one activation row
     * {@code x[x0 ..]}, into {@code out[o0 + i]}. The activation chunks are loaded once for the four rows and the eight
     * accumulators run independently, so a single-token product is no longer bound by one row's FMA latency; each
     * output keeps exactly the bits of {@link #dot(float[], int, float[], int, int, float[], int)}. {@code tmp} needs
     * 4 * LANES floats.
     */
    public static void dotRows4(float[] w, int w0, int n, float[] x, int x0, float[] out, int o0, float[] tmp, int tmpOff) {
        int lanes = F.length();
        int i = 0;
        FloatVector e0 = FloatVector.zero(F), o0v = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + i), xo = FloatVector.fromArray(F, x, x0 + i + lanes);
            e0 = FloatVector.fromArray(F, w, w0 + i).fma(xe, e0);
            o0v = FloatVector.fromArray(F, w, w0 + i + lanes).fma(xo, o0v);
            e1 = FloatVector.fromArray(F, w, w0 + n + i).fma(xe, e1);
            o1 = FloatVector.fromArray(F, w, w0 + n + i + lanes).fma(xo, o1);
            e2 = FloatVector.fromArray(F, w, w0 + 2 * n + i).fma(xe, e2);
            o2 = FloatVector.fromArray(F, w, w0 + 2 * n + i + lanes).fma(xo, o2);
            e3 = FloatVector.fromArray(F, w, w0 + 3 * n + i).fma(xe, e3);
            o3 = FloatVector.fromArray(F, w, w0 + 3 * n + i + lanes).fma(xo, o3);
        }
        if (i + lanes <= n) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + i);
            e0 = FloatVector.fromArray(F, w, w0 + i).fma(xe, e0);
            e1 = FloatVector.fromArray(F, w, w0 + n + i).fma(xe, e1);
            e2 = FloatVector.fromArray(F, w, w0 + 2 * n + i).fma(xe, e2);
            e3 = FloatVector.fromArray(F, w, w0 + 3 * n + i).fma(xe, e3);
            i += lanes;
        }
        e0.add(o0v).intoArray(tmp, tmpOff);
        e1.add(o1).intoArray(tmp, tmpOff + lanes);
        e2.add(o2).intoArray(tmp, tmpOff + 2 * lanes);
        e3.add(o3).intoArray(tmp, tmpOff + 3 * lanes);
        laneSums4(tmp, tmpOff, out, o0);
        for (int r = 0; r < 4; r++) {
            out[o0 + r] += tail(w, w0 + r * n, x, x0, i, n);
        }
    }

    /**
     * Eight canonical dot products at once: rows {@code w[w0 + i*n ..]} (i &lt; 4, natural layout) with two activation
     * rows {@code x[x0 ..]} and {@code x[x0 + xStride ..]}, into {@code out[o0 + j*outStride + i]}: sixteen independent
     * accumulators, each weight chunk loaded once for both tokens and each activation chunk once for the four rows.
     * Bits as {@link #dot(float[], int, float[], int, int, float[], int)}; {@code tmp} needs 8 * LANES floats.
     */
    public static void dotRows4x2(float[] w, int w0, int n, float[] x, int x0, int xStride, float[] out, int o0, int outStride,
                                  float[] tmp, int tmpOff) {
        int lanes = F.length();
        int i = 0;
        int x1 = x0 + xStride;
        FloatVector e00 = FloatVector.zero(F), o00 = FloatVector.zero(F), e10 = FloatVector.zero(F), o10 = FloatVector.zero(F);
        FloatVector e20 = FloatVector.zero(F), o20 = FloatVector.zero(F), e30 = FloatVector.zero(F), o30 = FloatVector.zero(F);
        FloatVector e01 = FloatVector.zero(F), o01 = FloatVector.zero(F), e11 = FloatVector.zero(F), o11 = FloatVector.zero(F);
        FloatVector e21 = FloatVector.zero(F), o21 = FloatVector.zero(F), e31 = FloatVector.zero(F), o31 = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            FloatVector xe0 = FloatVector.fromArray(F, x, x0 + i), xo0 = FloatVector.fromArray(F, x, x0 + i + lanes);
            FloatVector xe1 = FloatVector.fromArray(F, x, x1 + i), xo1 = FloatVector.fromArray(F, x, x1 + i + lanes);
            FloatVector we = FloatVector.fromArray(F, w, w0 + i), wo = FloatVector.fromArray(F, w, w0 + i + lanes);
            e00 = we.fma(xe0, e00);
            o00 = wo.fma(xo0, o00);
            e01 = we.fma(xe1, e01);
            o01 = wo.fma(xo1, o01);
            we = FloatVector.fromArray(F, w, w0 + n + i);
            wo = FloatVector.fromArray(F, w, w0 + n + i + lanes);
            e10 = we.fma(xe0, e10);
            o10 = wo.fma(xo0, o10);
            e11 = we.fma(xe1, e11);
            o11 = wo.fma(xo1, o11);
            we = FloatVector.fromArray(F, w, w0 + 2 * n + i);
            wo = FloatVector.fromArray(F, w, w0 + 2 * n + i + lanes);
            e20 = we.fma(xe0, e20);
            o20 = wo.fma(xo0, o20);
            e21 = we.fma(xe1, e21);
            o21 = wo.fma(xo1, o21);
            we = FloatVector.fromArray(F, w, w0 + 3 * n + i);
            wo = FloatVector.fromArray(F, w, w0 + 3 * n + i + lanes);
            e30 = we.fma(xe0, e30);
            o30 = wo.fma(xo0, o30);
            e31 = we.fma(xe1, e31);
            o31 = wo.fma(xo1, o31);
        }
        if (i + lanes <= n) {
            FloatVector xe0 = FloatVector.fromArray(F, x, x0 + i), xe1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector we = FloatVector.fromArray(F, w, w0 + i);
            e00 = we.fma(xe0, e00);
            e01 = we.fma(xe1, e01);
            we = FloatVector.fromArray(F, w, w0 + n + i);
            e10 = we.fma(xe0, e10);
            e11 = we.fma(xe1, e11);
            we = FloatVector.fromArray(F, w, w0 + 2 * n + i);
            e20 = we.fma(xe0, e20);
            e21 = we.fma(xe1, e21);
            we = FloatVector.fromArray(F, w, w0 + 3 * n + i);
            e30 = we.fma(xe0, e30);
            e31 = we.fma(xe1, e31);
            i += lanes;
        }
        if (lanes == 16) {
            // the eight lane sums in one butterfly (three merge levels, then lanes l and l ^ 1), fewer operations than
            // eight separate reductions; same pairwise order, so the same bits
            FloatVector v0 = e00.add(o00), v1 = e10.add(o10), v2 = e20.add(o20), v3 = e30.add(o30);
            FloatVector v4 = e01.add(o01), v5 = e11.add(o11), v6 = e21.add(o21), v7 = e31.add(o31);
            FloatVector r0 = v0.blend(v1, HIGH_1).add(v1.blend(v0, HIGH_1).rearrange(SWAP_1));
            FloatVector r1 = v2.blend(v3, HIGH_1).add(v3.blend(v2, HIGH_1).rearrange(SWAP_1));
            FloatVector r2 = v4.blend(v5, HIGH_1).add(v5.blend(v4, HIGH_1).rearrange(SWAP_1));
            FloatVector r3 = v6.blend(v7, HIGH_1).add(v7.blend(v6, HIGH_1).rearrange(SWAP_1));
            FloatVector s0 = r0.blend(r1, HIGH_2).add(r1.blend(r0, HIGH_2).rearrange(SWAP_2));
            FloatVector s1 = r2.blend(r3, HIGH_2).add(r3.blend(r2, HIGH_2).rearrange(SWAP_2));
            FloatVector t = s0.blend(s1, HIGH_3).add(s1.blend(s0, HIGH_3).rearrange(SWAP_3));
            t.add(t.rearrange(SWAP_4)).intoArray(tmp, tmpOff);
            for (int r = 0; r < 4; r++) {
                out[o0 + r] = tmp[tmpOff + BUTTERFLY_8[r]];
                out[o0 + outStride + r] = tmp[tmpOff + BUTTERFLY_8[4 + r]];
            }
        } else {
            e00.add(o00).intoArray(tmp, tmpOff);
            e10.add(o10).intoArray(tmp, tmpOff + lanes);
            e20.add(o20).intoArray(tmp, tmpOff + 2 * lanes);
            e30.add(o30).intoArray(tmp, tmpOff + 3 * lanes);
            e01.add(o01).intoArray(tmp, tmpOff + 4 * lanes);
            e11.add(o11).intoArray(tmp, tmpOff + 5 * lanes);
            e21.add(o21).intoArray(tmp, tmpOff + 6 * lanes);
            e31.add(o31).intoArray(tmp, tmpOff + 7 * lanes);
            laneSums4(tmp, tmpOff, out, o0);
            laneSums4(tmp, tmpOff + 4 * lanes, out, o0 + outStride);
        }
        for (int r = 0; r < 4; r++) {
            out[o0 + r] += tail(w, w0 + r * n, x, x0, i, n);
            out[o0 + outStride + r] += tail(w, w0 + r * n, x, x1, i, n);
        }
    }

    /** out[o + r·stride] = {@link #lane16}(t, 16·r) for r &lt; count (≤ 4): the lane sums of vectors stored one after another. */
    public static void lane16Rows(float[] t, int count, float[] out, int o, int stride) {
        for (int r = 0; r < count; r++) out[o + r * stride] = lane16(t, 16 * r);
    }

    /**
     * The 16 floats at {@code t[off ..]} (a vector stored there) summed in {@link #sumLanes}'s pairwise order, with
     * vector shuffles (only with 16 lanes). It takes an array, not a vector: C2 boxes a vector argument (80 bytes) at
     * every call it does not inline, which happens in large callers (NodeCountInliningCutoff).
     */
    public static float lane16(float[] t, int off) {
        FloatVector acc = FloatVector.fromArray(F, t, off);
        acc = acc.add(acc.rearrange(SWAP_1));
        acc = acc.add(acc.rearrange(SWAP_2));
        acc = acc.add(acc.rearrange(SWAP_3));
        acc = acc.add(acc.rearrange(SWAP_4));
        return acc.lane(0);
    }

    /**
     * out[o0 + r] = the lanes of the vector stored at {@code tmp[off + r*LANES ..]} (r &lt; 4), each summed in
     * {@link #sumLanes}'s pairwise order. Takes arrays, not vectors, so that callers in other classes never pass a
     * vector across a call that might not be inlined.
     */
    public static void laneSums4(float[] tmp, int off, float[] out, int o0) {
        if (LANES != 16) {
            for (int r = 0; r < 4; r++) out[o0 + r] = sumLanes(tmp, off + r * LANES);
            return;
        }
        FloatVector a = FloatVector.fromArray(F, tmp, off), b = FloatVector.fromArray(F, tmp, off + 16);
        FloatVector c = FloatVector.fromArray(F, tmp, off + 32), d = FloatVector.fromArray(F, tmp, off + 48);
        a = a.add(a.rearrange(SWAP_1));
        b = b.add(b.rearrange(SWAP_1));
        c = c.add(c.rearrange(SWAP_1));
        d = d.add(d.rearrange(SWAP_1));
        a = a.add(a.rearrange(SWAP_2));
        b = b.add(b.rearrange(SWAP_2));
        c = c.add(c.rearrange(SWAP_2));
        d = d.add(d.rearrange(SWAP_2));
        a = a.add(a.rearrange(SWAP_3));
        b = b.add(b.rearrange(SWAP_3));
        c = c.add(c.rearrange(SWAP_3));
        d = d.add(d.rearrange(SWAP_3));
        a = a.add(a.rearrange(SWAP_4));
        b = b.add(b.rearrange(SWAP_4));
        c = c.add(c.rearrange(SWAP_4));
        d = d.add(d.rearrange(SWAP_4));
        out[o0] = a.lane(0);
        out[o0 + 1] = b.lane(0);
        out[o0 + 2] = c.lane(0);
        out[o0 + 3] = d.lane(0);
    }

    /** The canonical dot product (see {@link #dot(float[], int, float[], int, int, float[], int)}) of float32 data in a segment with an array. */
    public static float dot(MemorySegment a, long aByteOff, float[] b, int bOff, int n, float[] tmp) {
        int i = 0;
        int lanes = F.length();
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            even = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i), even);
            odd = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * (i + lanes), ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i + lanes), odd);
        }
        if (i + lanes <= n) {
            even = FloatVector.fromMemorySegment(F, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F, b, bOff + i), even);
            i += lanes;
        }
        float t = 0;
        for (; i < n; i++) {
            t += a.get(Bytes.LE_FLOAT, aByteOff + 4L * i) * b[bOff + i];
        }
        even.add(odd).intoArray(tmp, 0);
        return sumLanes(tmp, 0) + t;
    }

    /**
     * Number of values in the even chunks of an {@code n}-value dot product: where the even/odd accumulators split
     * once the data are laid out by {@code RegisterTiles.layOut}.
     */
    public static int evenLength(int n) {
        int chunks = n / LANES;
        return (chunks + 1) / 2 * LANES;
    }

    /** Scalar remainder of a dot product from index k to n. */
    static float tail(float[] a, int aOff, float[] b, int bOff, int k, int n) {
        float s = 0;
        for (int i = k; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

}
