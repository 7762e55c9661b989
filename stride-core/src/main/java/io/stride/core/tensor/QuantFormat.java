package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.kernel.RegisterTiles;
import io.stride.core.tensor.kernel.VectorMath;

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

    /** Whether {@link #quantize} is implemented for this format. */
    default boolean canQuantize() {
        return false;
    }

    /**
     * Encodes {@code n} floats (a whole number of blocks) from {@code src[srcOff ..]} into {@code dst} at byte
     * {@code dstOff}, as llama.cpp's reference quantizer ({@code quantize_row_*_ref}) does.
     */
    default void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        throw new UnsupportedOperationException("quantizing to " + type() + " is not supported");
    }

    /**
     * Dot product of {@code n} encoded values at byte {@code offset} of {@code w} with {@code x[xOff ..]}: the canonical
     * dot product (see {@link VectorMath#dot(float[], int, float[], int, int, float[], int)}) of the decoded row.
     * {@code scratch} (at least {@code n + 4 * VectorMath.LANES} floats) is working space.
     */
    default float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        dequantize(w, offset, scratch, 0, n);
        return VectorMath.dot(scratch, 0, x, xOff, n, scratch, n);
    }


    /**
     * Four consecutive rows (at byte {@code offset}, {@code offset + rowBytes}, ...) each dotted with {@code x[xOff ..]}
     * into {@code out[outOff + r]}, each with exactly the bits of {@link #dot}. {@code scratch} holds at least
     * {@code 4 * n + 4 * VectorMath.LANES} floats. Formats override it to share the activation loads between rows.
     */
    default void dotRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xOff, int n, float[] out, int outOff, float[] scratch) {
        for (int r = 0; r < 4; r++) {
            out[outOff + r] = dot(w, offset + r * rowBytes, x, xOff, n, scratch);
        }
    }

    /**
     * {@link #dotTokens} for four consecutive rows (at byte {@code offset}, {@code offset + rowBytes}, ...): row r with
     * token j into {@code out[outBase + j*outStride + r]}, bits as {@link #dot}. {@code scratch} holds at least
     * {@code 4 * n + 8 * VectorMath.LANES} floats.
     */
    default void dotTokensRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xBase, int xStride, int count, int n,
                                float[] out, int outBase, int outStride, float[] scratch) {
        for (int r = 0; r < 4; r++) {
            dotTokens(w, offset + r * rowBytes, x, xBase, xStride, count, n, out, outBase + r, outStride, scratch);
        }
    }

    /**
     * Decodes {@code n} values like {@link #dequantize} into a register-tile panel row at byte {@code panelOff}, laid out
     * as {@link RegisterTiles#layOut} does; {@code tmp} has room for {@code n} floats.
     */
    default void dequantizeForTiles(MemorySegment src, long offset, int n, MemorySegment panel, long panelOff, float[] tmp, int tmpOff) {
        dequantize(src, offset, tmp, tmpOff, n);
        RegisterTiles.layOut(tmp, tmpOff, panel, panelOff, n);
    }

    /**
     * Up to how many tokens {@link #dotTokens} / {@link #dotTokensRows4} beat decoding rows to floats for the register
     * tiles of {@link MatMul} (0: never). Measured per format with MatMulBench.
     */
    default int fusedTokens() {
        return 0;
    }

    /**
     * Canonical dot products of one encoded row with {@code count} activation rows {@code x[xBase + j*xStride ..]},
     * into {@code out[outBase + j*outStride]}.
     */
    default void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                           int outStride, float[] scratch) {
        for (int j = 0; j < count; j++) {
            out[outBase + j * outStride] = dot(w, offset, x, xBase + j * xStride, n, scratch);
        }
    }
}
