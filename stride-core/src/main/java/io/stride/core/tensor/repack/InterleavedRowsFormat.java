package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.kernel.BlockKernels;
import io.stride.core.tensor.kernel.VectorMath;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * A block format (32 values per block, an f16 scale then the quants) repacked at load time so that four consecutive
 * rows stream as one: for each group of four rows and each block index b, one record
 * {@code [4 f16 scales][quants of row 0]..[quants of row 3]} (llama.cpp's CPU "repack" does the same for its int8
 * kernels). Same bytes per row as the file, same values, same bits: only the order changes. Decode then multiplies
 * four rows at once from one sequential stream, with eight independent accumulator chains instead of two and each
 * activation chunk loaded once for the four rows.
 *
 * <p>Rows are still addressed as in the file, by {@code r * rowBytes}: {@link #scales} and {@link #quants} map that
 * offset to the row's place in its group. One instance per tensor width.
 */
public abstract class InterleavedRowsFormat implements QuantFormat {
    private final GgmlType type;
    /** bytes of one block in the file: a 2-byte scale and {@link #quantBytes} */
    final int blockBytes;
    /** bytes of one block's quants */
    final int quantBytes;
    /** bytes of one record: four blocks */
    final long record;
    final int cols;
    final long rowBytes;
    /** the file layout's kernels, run over this layout's placement of a row's blocks */
    private final BlockKernels kernels;

    InterleavedRowsFormat(GgmlType type, int cols) {
        this.type = type;
        this.kernels = (BlockKernels) QuantFormats.of(type);
        this.blockBytes = type.blockBytes;
        this.quantBytes = blockBytes - 2;
        this.record = 4L * blockBytes;
        this.cols = cols;
        this.rowBytes = (long) blockBytes * (cols / 32);
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    /** The weights of {@code t} (in the file's layout) copied into {@code arena} in this format's layout. */
    public final Tensor copyInto(Tensor t, Arena arena) {
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate(src.byteSize(), 64);
        int blocks = t.cols() / 32;
        int groupBytes = Math.toIntExact(4 * rowBytes);
        // a one-off pass at load time: each group's four rows (contiguous in the file) copied to the heap in bulk,
        // reordered there, and copied back in bulk; groups in parallel
        IntStream.range(0, t.rows() / 4).parallel().forEach(g -> {
            byte[] in = new byte[groupBytes], out = new byte[groupBytes];
            long base = (long) g * groupBytes;
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, base, in, 0, groupBytes);
            for (int b = 0; b < blocks; b++) {
                int rec = (int) record * b;
                for (int j = 0; j < 4; j++) {
                    int o = j * groupBytes / 4 + blockBytes * b;
                    out[rec + 2 * j] = in[o];
                    out[rec + 2 * j + 1] = in[o + 1];
                    System.arraycopy(in, o + 2, out, rec + 8 + quantBytes * j, quantBytes);
                }
            }
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, base, groupBytes);
        });
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), dst, this);
    }

    /** Which of its group's four rows the row at {@code offset} is. */
    final int lane(long offset) {
        return (int) ((offset / rowBytes) % 4);
    }

    /** Byte of the row's first scale; the next block's is {@link #record} further. */
    final long scales(long offset) {
        return group(offset) + 2L * lane(offset);
    }

    /** Byte of the row's first quants; the next block's are {@link #record} further. */
    final long quants(long offset) {
        return group(offset) + 8 + (long) quantBytes * lane(offset);
    }

    private long group(long offset) {
        long row = offset / rowBytes;
        return (row - row % 4) * rowBytes;
    }

    /**
     * The start of a subclass's {@code dotRows4}: checks that whole rows are read and, when the four rows straddle two
     * groups, dots them one by one and returns true (the group loop then has nothing to do). The group loop itself
     * stays in each subclass's {@code dotRows4}, where the JIT compiles it for that format alone.
     */
    final boolean straddlingRows(MemorySegment w, long offset, long rowBytes, float[] x, int xOff, int n, float[] out, int outOff, float[] scratch) {
        check(offset, n);
        if (lane(offset) == 0) return false;
        for (int r = 0; r < 4; r++) out[outOff + r] = dot(w, offset + r * rowBytes, x, xOff, n, scratch);
        return true;
    }

    /** Only whole rows are read: the offset must be a row's, the length the tensor's width. */
    final void check(long offset, int n) {
        if (n != cols || offset % rowBytes != 0) {
            throw new IllegalArgumentException("a repacked " + type() + " tensor is read by whole rows of " + cols + " values");
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        check(offset, n);
        kernels.dequantizeAt(src, scales(offset), quants(offset), record, dst, dstOff, n);
    }

    @Override
    public void dequantizeForTiles(MemorySegment src, long offset, int n, MemorySegment panel, long panelOff, float[] tmp, int tmpOff) {
        check(offset, n);
        kernels.dequantizeEvenFirstAt(src, scales(offset), quants(offset), record, tmp, tmpOff, n);
        MemorySegment.copy(tmp, tmpOff, panel, ValueLayout.JAVA_FLOAT, panelOff, n);
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        check(offset, n);
        return kernels.dotAt(w, scales(offset), quants(offset), record, x, xOff, n, scratch);
    }

    @Override
    public void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                          int outStride, float[] scratch) {
        check(offset, n);
        kernels.dotTokensAt(w, scales(offset), quants(offset), record, x, xBase, xStride, count, n, out, outBase, outStride, scratch);
    }

    @Override
    public int fusedTokens() {
        return 3;
    }
}
