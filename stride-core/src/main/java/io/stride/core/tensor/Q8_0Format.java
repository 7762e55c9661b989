package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** Q8_0: blocks of 32 int8 with one f16 scale. */
final class Q8_0Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 32; j++) {
                dst[y + j] = Bytes.i8(src, o + 2 + j) * d;
            }
        }
    }
}
