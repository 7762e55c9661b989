package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** Q4_K: super-blocks of 256 = 8 sub-blocks of 32 four-bit values, 6-bit scales and mins, f16 d and dmin. */
final class Q4KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
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
}
