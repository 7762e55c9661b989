package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.kernel.LaneProduct;
import io.stride.core.tensor.kernel.Q8Activations;
import io.stride.core.tensor.kernel.VectorMath;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * Weights in blocks of 32 values, repacked at load time for integer dot products against {@link Q8Activations}
 * ("block lanes"): the vector lanes run across blocks, not along one block, so a 16-bit lane adds up products of one
 * block without overflow (for 4-bit values, (q − 8) · x over 32 values: |q − 8| ≤ 8, |x| ≤ 127, 32 · 8 · 127 < 2^15) and
 * the block's scales (and mins) apply once per lane afterwards.
 *
 * <p>Rows come in groups of four; a group is stored lane group by lane group (32 blocks), one record each: first the
 * quants, for p = 0..7 the four rows' pair row p (64 bytes each: block l's 16-bit lane at byte 2l), then whatever else
 * the {@link Kind} needs, then the four rows' scales. For Q4_0 and Q4_K a lane of pair row p holds the nibbles of
 * elements 2p, 2p + 16, 2p + 1, 2p + 17 from its low bits up (bytes 2p and 2p + 1 of the block's Q4_0-ordered quants:
 * element e in the low nibble of byte e, e + 16 in the high one). Decode reads a record front to back: one sequential
 * stream. A row whose blocks do not fill its last lane group is padded with zero blocks (scale 0), for one kernel
 * without masked loads.
 */
public abstract sealed class LanesFormat implements QuantFormat permits Q4_0LanesFormat, Q4KLanesFormat, Q5KLanesFormat, Q6KLanesFormat, Q6KFieldsFormat {
    /** What a block holds, and so which activations, kernels and scale step a product takes. */
    public enum Kind {
        /** 4-bit q, value d·(q − 8); activations as q8_0 */
        Q4_0,
        /** 4-bit q, value d·sc·q − dmin·m; activations as q8_K */
        Q4_K,
        /** 5-bit q, value d·sc·q − dmin·m; activations as q8_K */
        Q5_K,
        /** 6-bit q in two sub-blocks of 16, value d·sc·(q − 32); activations as q8_K */
        Q6_K,
        /** Q6_K's values with q in 6-bit fields, a quarter block's eight in three 16-bit lanes; activations as q8_K */
        Q6_K_FIELDS
    }

    public final Kind kind;
    final int cols;
    final int blocks;
    public final int groups;
    /** bytes of one row in the file's layout */
    final long rowBytes;
    /** bytes of one record: four rows' lane group (32 blocks each) */
    public final int recordBytes;

    LanesFormat(Kind kind, int cols, long rowBytes, int quantBytes, int scaleBytesPerRow) {
        this.kind = kind;
        this.cols = cols;
        this.blocks = cols / 32;
        this.groups = (blocks + Q8Activations.GROUP - 1) / Q8Activations.GROUP;
        this.rowBytes = rowBytes;
        this.recordBytes = quantBytes + 4 * scaleBytesPerRow;
    }

    /** Writes one group of four rows: their bytes in the file's layout {@code in} into their records {@code out} (zeroed). */
    interface RowGroupWriter {
        void write(byte[] in, byte[] out);
    }

    /** Whether {@code t} is of {@code type} with a shape block lanes take: 16 float lanes, rows in fours, whole blocks. */
    static boolean suits(Tensor t, GgmlType type, int blockValues) {
        return VectorMath.LANES == 16 && t.type() == type && t.rows() % 4 == 0 && t.cols() % blockValues == 0 && t.cols() > 0;
    }

    /** {@code t} copied into {@code arena} in this layout, each group of four rows by {@code writer}, groups in parallel. */
    final Tensor copyRows(Tensor t, Arena arena, RowGroupWriter writer) {
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate((long) t.rows() / 4 * groups * recordBytes, 64); // zeroed: the padding blocks
        int groupBytes = Math.toIntExact(4 * rowBytes);
        int packedBytes = groups * recordBytes;
        IntStream.range(0, t.rows() / 4).parallel().forEach(rg -> {
            byte[] in = new byte[groupBytes], out = new byte[packedBytes];
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) rg * groupBytes, in, 0, groupBytes);
            writer.write(in, out);
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, (long) rg * packedBytes, packedBytes);
        });
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), dst, this);
    }

    /** bytes of a record's 4-bit quants: four rows × 32 blocks × 16 bytes */
    static final int QUANT_BYTES = 4 * 16 * Q8Activations.GROUP;

    /** Byte of the record of lane group {@code g} of the four rows from row {@code r} (a multiple of four). */
    public long record(int r, int g) {
        return ((long) (r / 4) * groups + g) * recordBytes;
    }

    /** Byte of row j's pair row 0 in a record; pair row p is {@link #PAIR_STRIDE}·p further. */
    public static long quants(long record, int j) {
        return record + 64L * j;
    }

    /** bytes from one pair row of a record to the next */
    public static final int PAIR_STRIDE = 256;

    /** Offset from row j's pair row 0 of byte m (0..15) of the Q4_0-ordered quants of the record's block l (Q4_0, Q4_K). */
    static long quantByte(int m, int l) {
        return (long) PAIR_STRIDE * (m / 2) + 2 * l + (m % 2);
    }

    /** The row a whole-row read at file-layout byte {@code offset} means. */
    int row(long offset, int n) {
        if (n != cols || offset % rowBytes != 0) {
            throw new IllegalArgumentException("a repacked " + type() + " tensor is read by whole rows of " + cols + " values");
        }
        return Math.toIntExact(offset / rowBytes);
    }

    /**
     * The integer dot product (what {@link io.stride.core.tensor.MatMul} computes for this format) of one row with
     * {@code x}, quantized here first; allocates, so for tests and one-off products only.
     */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        int r = row(offset, n);
        Q8Activations a = new Q8Activations();
        a.ensure(1, groups, kind);
        a.quantize(x, xOff, n, 0);
        float[] out = new float[4];
        LaneProduct.rows4(w, this, r - r % 4, a, 0, out, 0, new LaneProduct.Scratch(groups));
        return out[r % 4];
    }
}
