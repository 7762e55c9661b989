package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/** Q5_0: 32 five-bit values (nibbles plus a 32-bit word of high bits), offset 16, one f16 scale. */
public final class Q5_0Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 22L * b;
            float d = Bytes.f16(src, o);
            int qh = Bytes.i32(src, o + 2);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 6 + j);
                int h0 = ((qh >>> j) << 4) & 0x10;
                int h1 = (qh >>> (j + 12)) & 0x10;
                dst[y + j] = (((q & 0x0f) | h0) - 16) * d;
                dst[y + j + 16] = (((q >>> 4) | h1) - 16) * d;
            }
        }
    }
}
