package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/** Q5_1: 32 five-bit values with an f16 scale and an f16 minimum. */
public final class Q5_1Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 24L * b;
            float d = Bytes.f16(src, o);
            float m = Bytes.f16(src, o + 2);
            int qh = Bytes.i32(src, o + 4);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 8 + j);
                int h0 = ((qh >>> j) << 4) & 0x10;
                int h1 = (qh >>> (j + 12)) & 0x10;
                dst[y + j] = ((q & 0x0f) | h0) * d + m;
                dst[y + j + 16] = ((q >>> 4) | h1) * d + m;
            }
        }
    }
}
