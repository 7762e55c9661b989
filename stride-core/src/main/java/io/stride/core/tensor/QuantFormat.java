package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * How one ggml tensor type stores numbers: dequantization of whole blocks, bit-exact with llama.cpp's
 * reference definitions ({@code dequantize_row_*} in ggml-quants.c).
 */
public interface QuantFormat {
    GgmlType type();

    /**
     * Decodes {@code n} values (a whole number of blocks) starting at byte {@code offset} of {@code src}
     * into {@code dst[dstOff ..]}.
     */
    void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n);
}
