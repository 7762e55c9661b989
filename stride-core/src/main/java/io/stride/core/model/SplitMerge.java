package io.stride.core.model;

import io.stride.core.tensor.kernel.LayerOps;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact merge of split attention. One run of positions leaves, per head h, its largest score {@code m_h}, the
 * sum of {@code e^(s - m_h)} over the run {@code l_h} and the unnormalized weighted sum of its values {@code o_h}; the
 * runs of a head merge as {@code M = max m}, {@code f_r = e^(m_r - M)}, {@code out = (Σ_r f_r · o_r) / (Σ_r f_r · l_r)},
 * summed in run order with one fused multiply-add per term, so a merge depends only on the runs, never on which
 * worker computed them.
 *
 * <p>Layout of one run of {@code heads} heads: the heads' sums ({@code hdV} floats each), then their maxima, then
 * their exponential sums: {@link #runFloats} floats.
 */
final class SplitMerge {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private SplitMerge() {}

    static int runFloats(int heads, int hdV) {
        return heads * (hdV + 2);
    }

    /**
     * Scores of heads 0 .. hs (rows {@code h·sstride} of {@code sc}, {@code len} each) to weights: the softmax
     * ({@code normalize}), or e^(s − max) with each head's maximum and sum kept in the run at {@code y[yo ..]}
     * ({@code heads} heads of {@code hdV} values per run).
     */
    static void weigh(int heads, int hdV, int hs, int len, float[] sc, int sstride, boolean normalize, float[] y, int yo) {
        for (int h = 0; h < hs; h++) {
            if (normalize) {
                LayerOps.softmax(sc, h * sstride, len);
            } else {
                float m = LayerOps.max(sc, h * sstride, len);
                setRun(y, yo, heads, hdV, h, m, LayerOps.expSum(sc, h * sstride, len, m));
            }
        }
    }

    /** Records head h's maximum and exponential sum in the run at {@code y[base ..]}. */
    static void setRun(float[] y, int base, int heads, int hdV, int h, float max, float sum) {
        y[base + heads * hdV + h] = max;
        y[base + heads * hdV + heads + h] = sum;
    }

    /**
     * Merges {@code runs} consecutive runs from {@code src[base ..]} for heads 0 .. hs, into {@code out[o + h·hdV ..]}.
     * Overwrites the runs' maxima with their factors.
     */
    static void merge(float[] src, int base, int runs, int heads, int hs, int hdV, float[] out, int o) {
        int part = runFloats(heads, hdV);
        int lanes = F.length();
        for (int h = 0; h < hs; h++) {
            int mAt = heads * hdV + h, lAt = heads * hdV + heads + h;
            float max = Float.NEGATIVE_INFINITY;
            for (int r = 0; r < runs; r++) {
                max = Math.max(max, src[base + r * part + mAt]);
            }
            float sum = 0f;
            for (int r = 0; r < runs; r++) {
                int at = base + r * part;
                float f = LayerOps.exp(src[at + mAt] - max);
                src[at + mAt] = f;
                sum = Math.fma(src[at + lAt], f, sum);
            }
            float inv = 1f / sum;
            int y = o + h * hdV;
            int d = 0;
            for (; d + lanes <= hdV; d += lanes) {
                FloatVector acc = FloatVector.zero(F);
                for (int r = 0; r < runs; r++) {
                    int at = base + r * part;
                    acc = FloatVector.fromArray(F, src, at + h * hdV + d).fma(FloatVector.broadcast(F, src[at + mAt]), acc);
                }
                acc.mul(inv).intoArray(out, y + d);
            }
            for (; d < hdV; d++) {
                float acc = 0f;
                for (int r = 0; r < runs; r++) {
                    int at = base + r * part;
                    acc = Math.fma(src[at + h * hdV + d], src[at + mAt], acc);
                }
                out[y + d] = acc * inv;
            }
        }
    }
}
