package io.stride.core.tensor.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The kernels of a block format with 32 values per block (an f16 scale, then the quants) over any placement of a row's
 * blocks: block b's scale at byte {@code sc + b*stride}, its quants at {@code qs + b*stride}. The file's layout is
 * {@code (offset, offset + 2, blockBytes)}; {@link InterleavedRowsFormat}'s records use other values. Results have the
 * bits of the format's canonical dot product either way.
 */
public interface BlockKernels {
    void dequantizeAt(MemorySegment src, long sc, long qs, long stride, float[] dst, int dstOff, int n);

    void dequantizeEvenFirstAt(MemorySegment src, long sc, long qs, long stride, float[] dst, int dstOff, int n);

    /** {@code scratch}: 16 floats of working space (the accumulators pass through it, never through a call). */
    float dotAt(MemorySegment w, long sc, long qs, long stride, float[] x, int xOff, int n, float[] scratch);

    /** {@code scratch}: 64 floats of working space, as for {@link #dotAt}. */
    void dotTokensAt(MemorySegment w, long sc, long qs, long stride, float[] x, int xBase, int xStride, int count, int n,
                     float[] out, int outBase, int outStride, float[] scratch);
}
