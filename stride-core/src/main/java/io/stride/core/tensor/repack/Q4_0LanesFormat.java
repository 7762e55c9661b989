package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.kernel.LaneProduct;
import io.stride.core.tensor.kernel.Q8Activations;
import io.stride.core.tensor.kernel.VectorMath;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * Q4_0 weights repacked at load time for integer dot products against {@link Q8Activations} ("block lanes"): the
 * vector lanes run across blocks, not along one block, so a 16-bit lane adds up one block's 32 products without
 * overflow (|q − 8| ≤ 8, |x| ≤ 127, 32 · 8 · 127 < 2^15) and one block scale per lane applies afterwards. Same bytes
 * per row as the file, same values.
 *
 * <p>Rows come in groups of four; a group is stored lane group by lane group (32 blocks), one 2304-byte record each:
 * for p = 0..7 the four rows' pair row p (64 bytes each: for block l, bytes 2p and 2p + 1 of its quants as one
 * little-endian 16-bit lane, so that a lane holds the nibbles of elements 2p, 2p + 16, 2p + 1, 2p + 17 from its low
 * bits up), then the four rows' 32 f16 scales (64 bytes per row). Decode reads a record front to back: one sequential
 * stream (interleaved streams per record read DRAM slower), and multiplies a lane's four nibbles without isolating
 * them ({@link Q8Activations#c}). A row whose blocks do not fill its last lane group is padded with zero blocks
 * (scale 0): 5632-wide rows (176 blocks) take 6 · 32 blocks, 9 % more bytes, for one kernel without masked or
 * narrower loads, which the JIT compiles to much slower code.
 */
public final class Q4_0LanesFormat implements QuantFormat {
    final int cols;
    final int blocks;
    public final int groups;
    final long rowBytes;
    /** bytes of one record: four rows' lane group (32 blocks each) */
    public static final int RECORD = 4 * 18 * Q8Activations.GROUP;

    Q4_0LanesFormat(int cols) {
        this.cols = cols;
        this.blocks = cols / 32;
        this.groups = (blocks + Q8Activations.GROUP - 1) / Q8Activations.GROUP;
        this.rowBytes = 18L * blocks;
    }

    /** A copy of {@code t} (Q4_0 in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (VectorMath.LANES != 16 || t.type() != GgmlType.Q4_0 || t.rows() % 4 != 0 || t.cols() % 32 != 0 || t.cols() == 0) return t;
        return new Q4_0LanesFormat(t.cols()).copyInto(t, arena);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    /** Byte of the record of lane group {@code g} of the four rows from row {@code r} (a multiple of four). */
    public long record(int r, int g) {
        return ((long) (r / 4) * groups + g) * RECORD;
    }

    /** Byte of row j's (0..3) 32 scales in a record: after the quants, the order decode reads them in. */
    public static long scales(long record, int j) {
        return record + 2048 + 64L * j;
    }

    /** Byte of row j's pair row 0 in a record; pair row p is {@code PAIR_STRIDE·p} further. */
    public static long quants(long record, int j) {
        return record + 64L * j;
    }

    /** bytes from one pair row of a record to the next */
    public static final int PAIR_STRIDE = 256;

    /** Offset from row j's pair row 0 of byte m (0..15) of the quants of the record's block l. */
    static long quantByte(int m, int l) {
        return (long) PAIR_STRIDE * (m / 2) + 2 * l + (m % 2);
    }

    private Tensor copyInto(Tensor t, Arena arena) {
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate((long) t.rows() / 4 * groups * RECORD, 64); // zeroed: the padding blocks
        int groupBytes = Math.toIntExact(4 * rowBytes);
        int packedBytes = groups * RECORD;
        // one pass at load time, groups of four rows in parallel, each reordered on the heap
        IntStream.range(0, t.rows() / 4).parallel().forEach(rg -> {
            byte[] in = new byte[groupBytes], out = new byte[packedBytes];
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) rg * groupBytes, in, 0, groupBytes);
            for (int j = 0; j < 4; j++) {
                for (int b = 0; b < blocks; b++) {
                    int l = b % Q8Activations.GROUP;
                    long rec = record(0, b / Q8Activations.GROUP);
                    int o = (int) (j * rowBytes) + 18 * b;
                    int s = (int) scales(rec, j) + 2 * l;
                    out[s] = in[o];
                    out[s + 1] = in[o + 1];
                    for (int m = 0; m < 16; m++) out[(int) (quants(rec, j) + quantByte(m, l))] = in[o + 2 + m];
                }
            }
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, (long) rg * packedBytes, packedBytes);
        });
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), dst, this);
    }

    private int row(long offset, int n) {
        if (n != cols || offset % rowBytes != 0) {
            throw new IllegalArgumentException("a repacked Q4_0 tensor is read by whole rows of " + cols + " values");
        }
        return Math.toIntExact(offset / rowBytes);
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int r = row(offset, n);
        for (int b = 0; b < blocks; b++) {
            int l = b % Q8Activations.GROUP;
            long rec = record(r - r % 4, b / Q8Activations.GROUP);
            float d = Bytes.f16(src, scales(rec, r % 4) + 2L * l);
            for (int m = 0; m < 16; m++) {
                int q = Bytes.u8(src, quants(rec, r % 4) + quantByte(m, l));
                dst[dstOff + 32 * b + m] = ((q & 15) - 8) * d;
                dst[dstOff + 32 * b + m + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    /**
     * The integer dot product (what {@link MatMul} computes for this format) of one row with {@code x}, quantized here
     * first; allocates, so for tests and one-off products only.
     */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        int r = row(offset, n);
        Q8Activations a = new Q8Activations();
        a.ensure(1, groups);
        a.quantize(x, xOff, n, 0);
        float[] out = new float[4];
        LaneProduct.rows4(w, this, r - r % 4, a, 0, out, 0, new LaneProduct.Scratch(groups));
        return out[r % 4];
    }
}
