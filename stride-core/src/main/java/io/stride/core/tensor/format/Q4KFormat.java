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
        for (int b = 0; b < n / 256; b++) {
            int o = dstOff + 144 * b;
            KQuantizer.scalesAndLevels(src, srcOff + 256 * b, dst, o, 15, -1.f, 20, L);
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
