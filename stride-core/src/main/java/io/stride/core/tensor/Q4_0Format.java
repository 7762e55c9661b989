package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** Q4_0: blocks of 32 nibbles (low nibbles first half, high nibbles second half), offset 8, one f16 scale. */
final class Q4_0Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 18L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 2 + j);
                dst[y + j] = ((q & 0x0f) - 8) * d;
                dst[y + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }
}
