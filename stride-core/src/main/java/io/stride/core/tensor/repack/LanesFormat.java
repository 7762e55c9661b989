package io.stride.core.tensor.repack;

import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.LaneProduct;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.MemorySegment;

/**
 * Weights with 4-bit values in blocks of 32, repacked at load time for integer dot products against
 * {@link Q8Activations} ("block lanes"): the vector lanes run across blocks, not along one block, so a 16-bit lane adds
 * up one block's 32 products (q − 8) · x without overflow (|q − 8| ≤ 8, |x| ≤ 127, 32 · 8 · 127 < 2^15) and the block's
 * scale (and min) apply once per lane afterwards.
 *
 * <p>Rows come in groups of four; a group is stored lane group by lane group (32 blocks), one record each: first the
 * quants, for p = 0..7 the four rows' pair row p (64 bytes each: for block l, bytes 2p and 2p + 1 of its Q4_0-ordered
 * quants, element e in the low nibble of byte e and element e + 16 in the high one, as one little-endian 16-bit lane, so
 * that a lane holds the nibbles of elements 2p, 2p + 16, 2p + 1, 2p + 17 from its low bits up), then the four rows'
 * scales, whose layout the subclass defines. Decode reads a record front to back: one sequential stream. A row whose
 * blocks do not fill its last lane group is padded with zero blocks (scale 0), for one kernel without masked loads.
 */
public abstract sealed class LanesFormat implements QuantFormat permits Q4_0LanesFormat, Q4KLanesFormat {
    final int cols;
    final int blocks;
    public final int groups;
    /** bytes of one row in the file's layout */
    final long rowBytes;
    /** bytes of one record: four rows' lane group (32 blocks each) */
    public final int recordBytes;

    LanesFormat(int cols, long rowBytes, int scaleBytesPerRow) {
        this.cols = cols;
        this.blocks = cols / 32;
        this.groups = (blocks + Q8Activations.GROUP - 1) / Q8Activations.GROUP;
        this.rowBytes = rowBytes;
        this.recordBytes = QUANT_BYTES + 4 * scaleBytesPerRow;
    }

    /** bytes of a record's quants: four rows × 32 blocks × 16 bytes */
    static final int QUANT_BYTES = 4 * 16 * Q8Activations.GROUP;

    /** True when blocks have a scale and a min (Q4_K: d·sc·q − dmin·m), false for one scale (Q4_0: d·(q − 8)). */
    public abstract boolean withMins();

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

    /** Offset from row j's pair row 0 of byte m (0..15) of the Q4_0-ordered quants of the record's block l. */
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
        a.ensure(1, groups, withMins());
        a.quantize(x, xOff, n, 0);
        float[] out = new float[4];
        LaneProduct.rows4(w, this, r - r % 4, a, 0, out, 0, new LaneProduct.Scratch(groups));
        return out[r % 4];
    }
}
