package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/** Q4_1: blocks of 32 nibbles with an f16 scale and an f16 minimum. */
public final class Q4_1Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 20L * b;
            float d = Bytes.f16(src, o);
            float m = Bytes.f16(src, o + 2);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 4 + j);
                dst[y + j] = (q & 0x0f) * d + m;
                dst[y + j + 16] = (q >>> 4) * d + m;
            }
        }
    }
}
