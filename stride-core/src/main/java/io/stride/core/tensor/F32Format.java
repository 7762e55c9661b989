package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

final class F32Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        MemorySegment.copy(src, Bytes.LE_FLOAT, offset, dst, dstOff, n);
    }
}
