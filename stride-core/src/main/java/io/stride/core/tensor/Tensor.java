package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight matrix over mapped data: {@code rows} rows of {@code cols} values each (ggml ne[0] = cols).
 * Higher-rank tensors are seen as matrices of their innermost dimension.
 */
public record Tensor(String name, GgmlType type, int rows, int cols, MemorySegment data, QuantFormat format) {

    public long rowBytes() {
        return type.bytesFor(cols);
    }

    /** Decodes row {@code r} into {@code dst[dstOff .. dstOff+cols)}. */
    public void dequantizeRow(int r, float[] dst, int dstOff) {
        format.dequantize(data, r * rowBytes(), dst, dstOff, cols);
    }

    /** All values, row-major (for small tensors: norms, biases). */
    public float[] toFloats() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            dequantizeRow(r, out, r * cols);
        }
        return out;
    }

    public long byteSize() {
        return data.byteSize();
    }
}
