package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.KQuantDot;

import java.lang.foreign.MemorySegment;

/** Q4_K: super-blocks of 256 = 8 sub-blocks of 32 four-bit values, 6-bit scales and mins, f16 d and dmin. */
public final class Q4KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (KQuantDot.FAST) {
            KQuantDot.q45kDequantize(src, offset, dst, dstOff, n, 144, 16, -1);
            return;
        }
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 144L * b;
            float d = Bytes.f16(src, o);
            float dmin = Bytes.f16(src, o + 2);
            long sc = o + 4;
            long q = o + 16;
            int y = dstOff + 256 * b;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
                float d1 = d * KQuantScales.scale(src, sc, is);
                float m1 = dmin * KQuantScales.min(src, sc, is);
                float d2 = d * KQuantScales.scale(src, sc, is + 1);
                float m2 = dmin * KQuantScales.min(src, sc, is + 1);
                for (int l = 0; l < 32; l++) {
                    int v = Bytes.u8(src, q + l);
                    dst[y + l] = d1 * (v & 0x0f) - m1;
                    dst[y + 32 + l] = d2 * (v >>> 4) - m2;
                }
                q += 32;
                y += 64;
            }
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        int[] L = new int[256];
        int[] laux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float[] minOut = new float[1];
        for (int b = 0; b < n / 256; b++) {
            int x = srcOff + 256 * b;
            int o = dstOff + 144 * b;
            java.util.Arrays.fill(dst, o, o + 144, (byte) 0);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; ++j) {
                float sumX2 = 0;
                for (int l = 0; l < 32; ++l) sumX2 += src[x + 32 * j + l] * src[x + 32 * j + l];
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; ++l) weights[l] = avX + Math.abs(src[x + 32 * j + l]);
                scales[j] = QuantMath.makeQkx2Quants(32, 15, src, x + 32 * j, weights, L, 32 * j, minOut, laux, -1.f, 0.1f, 20, false);
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
                    L[32 * j + ii] = Math.max(0, Math.min(15, l));
                }
            }
            int q = o + 16;
            for (int j = 0; j < 256; j += 64) {
                for (int l = 0; l < 32; ++l) dst[q + l] = (byte) (L[j + l] | (L[j + l + 32] << 4));
                q += 32;
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        return KQuantDot.FAST ? KQuantDot.q45k(w, offset, x, xOff, n, 144, 16, -1, scratch) : QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
    }
}
