package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/** bfloat16: the top 16 bits of a float32. */
public final class BF16Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            int h = src.get(Bytes.LE_SHORT, offset + 2L * i) & 0xffff;
            dst[dstOff + i] = Float.intBitsToFloat(h << 16);
        }
    }
}
