package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention kernels over keys stored in transposed tiles of 16 slots (see {@code PagedKvCache}): value d of sixteen
 * consecutive keys is one run of 16 floats, so a vector holds one dimension of several keys and a score needs no
 * horizontal sum. Every score is {@code fma(q[d], k[d], s)} for d = 0, 1, … from s = 0, then times the scale; the
 * vector lanes and {@link #score} compute exactly that, so a key gets the same bits whichever kernel scores it.
 */
public final class AttentionKernels {
    private static final VectorSpecies<Float> F = VectorMath.F;
    /** Floats between value d and value d + 1 of a key in a tile. */
    public static final int TILE = 16;

    private AttentionKernels() {}

    /** Whether the vector kernels apply: a vector covers part of a tile (16 a multiple of the lane count). */
    public static boolean vectorTiles() {
        return F.length() <= TILE && TILE % F.length() == 0;
    }

    /** Floats one call of the vector kernels scores per key column. */
    public static int lanes() {
        return F.length();
    }

    /**
     * Four query heads ({@code q[qa ..]}, {@code q[qb ..]}, {@code q[qc ..]}, {@code q[qd ..]}, {@code hd} values each)
     * against two key columns (lanes() keys each, value d at {@code k[ka + 16d ..]} and {@code k[kb + 16d ..]}), times
     * {@code scale}: head h's scores of the columns into {@code sc[s + h·stride + sa ..]} and {@code sc[s + h·stride + sb ..]}.
     */
    public static void scores4x2(float[] q, int qa, int qb, int qc, int qd, int hd, float[] k, int ka, int kb, float scale,
                                 float[] sc, int s, int stride, int sa, int sb) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
        for (int d = 0; d < hd; d++) {
            FloatVector ku = FloatVector.fromArray(F, k, ka + TILE * d), kv = FloatVector.fromArray(F, k, kb + TILE * d);
            FloatVector x = FloatVector.broadcast(F, q[qa + d]);
            a0 = ku.fma(x, a0);
            b0 = kv.fma(x, b0);
            x = FloatVector.broadcast(F, q[qb + d]);
            a1 = ku.fma(x, a1);
            b1 = kv.fma(x, b1);
            x = FloatVector.broadcast(F, q[qc + d]);
            a2 = ku.fma(x, a2);
            b2 = kv.fma(x, b2);
            x = FloatVector.broadcast(F, q[qd + d]);
            a3 = ku.fma(x, a3);
            b3 = kv.fma(x, b3);
        }
        a0.mul(scale).intoArray(sc, s + sa);
        b0.mul(scale).intoArray(sc, s + sb);
        a1.mul(scale).intoArray(sc, s + stride + sa);
        b1.mul(scale).intoArray(sc, s + stride + sb);
        a2.mul(scale).intoArray(sc, s + 2 * stride + sa);
        b2.mul(scale).intoArray(sc, s + 2 * stride + sb);
        a3.mul(scale).intoArray(sc, s + 3 * stride + sa);
        b3.mul(scale).intoArray(sc, s + 3 * stride + sb);
    }

    /** {@link #scores4x2} for one head: scores of the two columns into {@code sc[s + sa ..]} and {@code sc[s + sb ..]}. */
    public static void scores1x2(float[] q, int qa, int hd, float[] k, int ka, int kb, float scale, float[] sc, int s, int sa, int sb) {
        FloatVector a = FloatVector.zero(F), b = a;
        for (int d = 0; d < hd; d++) {
            FloatVector x = FloatVector.broadcast(F, q[qa + d]);
            a = FloatVector.fromArray(F, k, ka + TILE * d).fma(x, a);
            b = FloatVector.fromArray(F, k, kb + TILE * d).fma(x, b);
        }
        a.mul(scale).intoArray(sc, s + sa);
        b.mul(scale).intoArray(sc, s + sb);
    }

    /** One key's score (its value d at {@code k[kOff + 16d]}), with the operations of a vector lane. */
    public static float score(float[] q, int qa, int hd, float[] k, int kOff, float scale) {
        float s = 0f;
        for (int d = 0; d < hd; d++) {
            s = Math.fma(q[qa + d], k[kOff + TILE * d], s);
        }
        return s * scale;
    }

    /**
     * Four heads' weighted sums of the same values: {@code y[yh + d] = Σ_t w[wh + t] · x[offs[t] + add + d]} for d &lt;
     * n, h = a, b, c, d, each summed over t in order with one fused multiply-add per term, as
     * {@link VectorMath#weightedSum} does for n = 4 lanes; each value vector is loaded once for the four heads.
     * {@code n} must be a multiple of 4 · lanes().
     */
    public static void weightedSum4(float[] y, int ya, int yb, int yc, int yd, float[] w, int wa, int wb, int wc, int wd,
                                    float[] x, int[] offs, int add, int count, int n) {
        weightedSum4(y, ya, yb, yc, yd, w, wa, wb, wc, wd, x, offs, add, count, n, false);
    }

    /**
     * {@link #weightedSum4}, the sums continuing from the values in y when {@code accumulate}: a sum over t split
     * into consecutive runs this way has the bits of the sum in one call.
     */
    public static void weightedSum4(float[] y, int ya, int yb, int yc, int yd, float[] w, int wa, int wb, int wc, int wd,
                                    float[] x, int[] offs, int add, int count, int n, boolean accumulate) {
        int lanes = F.length();
        for (int c = 0; c < n; c += 4 * lanes) {
            FloatVector z = FloatVector.zero(F);
            FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
            FloatVector c0 = z, c1 = z, c2 = z, c3 = z, d0 = z, d1 = z, d2 = z, d3 = z;
            if (accumulate) {
                a0 = FloatVector.fromArray(F, y, ya + c); a1 = FloatVector.fromArray(F, y, ya + c + lanes);
                a2 = FloatVector.fromArray(F, y, ya + c + 2 * lanes); a3 = FloatVector.fromArray(F, y, ya + c + 3 * lanes);
                b0 = FloatVector.fromArray(F, y, yb + c); b1 = FloatVector.fromArray(F, y, yb + c + lanes);
                b2 = FloatVector.fromArray(F, y, yb + c + 2 * lanes); b3 = FloatVector.fromArray(F, y, yb + c + 3 * lanes);
                c0 = FloatVector.fromArray(F, y, yc + c); c1 = FloatVector.fromArray(F, y, yc + c + lanes);
                c2 = FloatVector.fromArray(F, y, yc + c + 2 * lanes); c3 = FloatVector.fromArray(F, y, yc + c + 3 * lanes);
                d0 = FloatVector.fromArray(F, y, yd + c); d1 = FloatVector.fromArray(F, y, yd + c + lanes);
                d2 = FloatVector.fromArray(F, y, yd + c + 2 * lanes); d3 = FloatVector.fromArray(F, y, yd + c + 3 * lanes);
            }
            for (int t = 0; t < count; t++) {
                int o = offs[t] + add + c;
                FloatVector v0 = FloatVector.fromArray(F, x, o), v1 = FloatVector.fromArray(F, x, o + lanes);
                FloatVector v2 = FloatVector.fromArray(F, x, o + 2 * lanes), v3 = FloatVector.fromArray(F, x, o + 3 * lanes);
                FloatVector p = FloatVector.broadcast(F, w[wa + t]);
                a0 = v0.fma(p, a0); a1 = v1.fma(p, a1); a2 = v2.fma(p, a2); a3 = v3.fma(p, a3);
                p = FloatVector.broadcast(F, w[wb + t]);
                b0 = v0.fma(p, b0); b1 = v1.fma(p, b1); b2 = v2.fma(p, b2); b3 = v3.fma(p, b3);
                p = FloatVector.broadcast(F, w[wc + t]);
                c0 = v0.fma(p, c0); c1 = v1.fma(p, c1); c2 = v2.fma(p, c2); c3 = v3.fma(p, c3);
                p = FloatVector.broadcast(F, w[wd + t]);
                d0 = v0.fma(p, d0); d1 = v1.fma(p, d1); d2 = v2.fma(p, d2); d3 = v3.fma(p, d3);
            }
            a0.intoArray(y, ya + c); a1.intoArray(y, ya + c + lanes); a2.intoArray(y, ya + c + 2 * lanes); a3.intoArray(y, ya + c + 3 * lanes);
            b0.intoArray(y, yb + c); b1.intoArray(y, yb + c + lanes); b2.intoArray(y, yb + c + 2 * lanes); b3.intoArray(y, yb + c + 3 * lanes);
            c0.intoArray(y, yc + c); c1.intoArray(y, yc + c + lanes); c2.intoArray(y, yc + c + 2 * lanes); c3.intoArray(y, yc + c + 3 * lanes);
            d0.intoArray(y, yd + c); d1.intoArray(y, yd + c + lanes); d2.intoArray(y, yd + c + 2 * lanes); d3.intoArray(y, yd + c + 3 * lanes);
        }
    }

    /** {@code y[o + h·hdV ..]} (+)= Σ_t sc[h·sstride + w0 + t] · x[offs[t] + add ..] for t &lt; n, each head h &lt; hs. */
    public static void mix(boolean four, int hs, float[] y, int o, int hdV, float[] sc, int sstride, int w0, float[] x, int[] offs,
                           int add, int n, boolean accumulate) {
        if (four) {
            weightedSum4(y, o, o + hdV, o + 2 * hdV, o + 3 * hdV, sc, w0, sstride + w0, 2 * sstride + w0,
                    3 * sstride + w0, x, offs, add, n, hdV, accumulate);
        } else {
            for (int h = 0; h < hs; h++) {
                LayerOps.weightedSum(y, o + h * hdV, sc, h * sstride + w0, x, offs, add, n, hdV, accumulate);
            }
        }
    }

    /**
     * Scores of heads h0 .. h0+hs (queries from {@code q[qBase + h·hd]}) against the key columns at ka and kb of a key
     * tile, into {@code sc[h·sstride + sa]} and {@code sc[h·sstride + sb]}.
     */
    public static void scorePair(float[] q, float[] k, int qBase, int h0, int hs, int hdK, int ka, int kb, float scale, float[] sc,
                                 int sstride, int sa, int sb) {
        if (hs == 4) {
            int qa = qBase + h0 * hdK;
            scores4x2(q, qa, qa + hdK, qa + 2 * hdK, qa + 3 * hdK, hdK, k, ka, kb, scale, sc, 0, sstride, sa, sb);
        } else {
            for (int h = 0; h < hs; h++) {
                scores1x2(q, qBase + (h0 + h) * hdK, hdK, k, ka, kb, scale, sc, h * sstride, sa, sb);
            }
        }
    }
}
