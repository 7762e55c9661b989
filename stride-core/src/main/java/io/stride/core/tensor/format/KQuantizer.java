package io.stride.core.tensor.format;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The part of llama.cpp's Q4_K and Q5_K reference quantizers ({@code quantize_row_q4_K_ref}, {@code _q5_K_ref}) that
 * the two share: per group of 32 a scale and a min fitted by {@code make_qkx2_quants}, both quantized to 6 bits against
 * the super-block's f16 {@code d} and {@code dmin}, then every value's level recomputed from the stored scales. The
 * formats pack the levels their own way.
 */
final class KQuantizer {
    private KQuantizer() {}

    /**
     * Writes d, dmin and the 12 scale bytes of the super-block at {@code dst[o ..]} for the 256 values at
     * {@code src[x ..]}, and their levels (0..nmax) into {@code L}.
     */
    static void scalesAndLevels(float[] src, int x, byte[] dst, int o, int nmax, float rmin, int nstep, int[] L) {
        int[] laux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float[] minOut = new float[1];
        Arrays.fill(dst, o, o + 16, (byte) 0);
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; ++j) {
            float sumX2 = 0;
            for (int l = 0; l < 32; ++l) sumX2 += src[x + 32 * j + l] * src[x + 32 * j + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; ++l) weights[l] = avX + Math.abs(src[x + 32 * j + l]);
            scales[j] = QuantMath.makeQkx2Quants(32, nmax, src, x + 32 * j, weights, L, 32 * j, minOut, laux, rmin, 0.1f, nstep, false);
            mins[j] = minOut[0];
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int sc = o + 4;
        for (int j = 0; j < 8; ++j) {
            int ls = Math.min(63, QuantMath.nearestInt(invScale * scales[j]) & 0xff);
            int lm = Math.min(63, QuantMath.nearestInt(invMin * mins[j]) & 0xff);
            if (j < 4) {
                dst[sc + j] = (byte) ls;
                dst[sc + j + 4] = (byte) lm;
            } else {
                dst[sc + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                dst[sc + j - 4] |= (byte) ((ls >> 4) << 6);
                dst[sc + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        QuantMath.putHalf(dst, o, maxScale / 63.f);
        QuantMath.putHalf(dst, o + 2, maxMin / 63.f);
        float d16 = QuantMath.half(maxScale / 63.f), dmin16 = QuantMath.half(maxMin / 63.f);
        MemorySegment seg = MemorySegment.ofArray(dst);
        for (int j = 0; j < 8; ++j) {
            float d = d16 * KQuantScales.scale(seg, sc, j);
            if (d == 0) continue;
            float dm = dmin16 * KQuantScales.min(seg, sc, j);
            for (int ii = 0; ii < 32; ++ii) {
                int l = QuantMath.nearestInt((src[x + 32 * j + ii] + dm) / d);
                L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
            }
        }
    }
}
