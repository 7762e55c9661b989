package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.VectorMath;

import java.lang.foreign.MemorySegment;

public final class F32Format implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        MemorySegment.copy(src, Bytes.LE_FLOAT, offset, dst, dstOff, n);
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        return VectorMath.dot(w, offset, x, xOff, n, scratch);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        for (int i = 0; i < n; i++) {
            int b = Float.floatToRawIntBits(src[srcOff + i]);
            dst[dstOff + 4 * i] = (byte) b;
            dst[dstOff + 4 * i + 1] = (byte) (b >> 8);
            dst[dstOff + 4 * i + 2] = (byte) (b >> 16);
            dst[dstOff + 4 * i + 3] = (byte) (b >> 24);
        }
    }
}
