package io.stride.core.model;

/**
 * Rotary position embedding as the model applies it: pairs (j, j + ropeDim/2) ({@link RopeStyle#NEOX}) or
 * (2j, 2j + 1) rotated by position × invFreq[j], the angles' cosine and sine computed in double and rounded to float
 * (so a position's rotation is the same wherever it is computed). The inverse rotation turns a stored key back into
 * its pre-RoPE value (ShadowKV factors those).
 */
final class Rope {
    private final float[] invFreq;
    private final boolean interleaved;

    Rope(ModelConfig c, float[] freqFactors) {
        int half = c.ropeDim() / 2;
        invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            double f = Math.pow(c.ropeBase(), -2.0 * i / c.ropeDim()) * c.ropeFreqScale();
            if (freqFactors != null) {
                f /= freqFactors[i];
            }
            invFreq[i] = (float) f;
        }
        interleaved = c.arch().rope() == RopeStyle.INTERLEAVED;
    }

    /** Pairs rotated per head (ropeDim / 2). */
    int half() {
        return invFreq.length;
    }

    /** The cosines and sines of position {@code pos} into {@code cos[at ..]}, {@code sin[at ..]} ({@link #half()} each). */
    void angles(int pos, float[] cos, float[] sin, int at) {
        for (int j = 0; j < invFreq.length; j++) {
            double a = (double) pos * invFreq[j];
            cos[at + j] = (float) Math.cos(a);
            sin[at + j] = (float) Math.sin(a);
        }
    }

    /** Rotates the head at {@code a[off ..]} by the angles at {@code cos[at ..]}, {@code sin[at ..]}; {@code inverse}: back. */
    void apply(float[] a, int off, float[] cos, float[] sin, int at, boolean inverse) {
        int half = invFreq.length;
        int i1 = interleaved ? 1 : half, step = interleaved ? 2 : 1;
        for (int j = 0; j < half; j++) {
            float co = cos[at + j], si = inverse ? -sin[at + j] : sin[at + j];
            int p = off + step * j;
            float x0 = a[p], x1 = a[p + i1];
            a[p] = x0 * co - x1 * si;
            a[p + i1] = x0 * si + x1 * co;
        }
    }
}
