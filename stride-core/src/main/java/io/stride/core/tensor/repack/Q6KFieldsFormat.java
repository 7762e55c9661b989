package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q6_K weights in block lanes ({@link LanesFormat}) with q (0..63; value (d·sc)·(q − 32)) in 6-bit fields: the eight
 * values of a quarter of a block (elements 8k..8k + 7) are one 48-bit string, element 8k + i at bits 6i..6i + 5,
 * stored as three 16-bit lanes (so elements 8k + 2 and 8k + 5 straddle two lanes). A record holds twelve lane rows
 * per row ({@link #lane}: lane row 3k + t of row j at {@code 256·(3k + t) + 64j}, block l's lane 2l further), then the
 * four rows' 72-byte scale sections laid out as {@link Q6KLanesFormat}'s ({@link #section}).
 * <p>Why fields: 6 bits per value in memory (plus the sections: 6.56 bits, the file's size) where one signed byte per
 * value takes 8.56, and a quarter's eight products still cost one multiply each, against multipliers that telescope
 * as Q5_K's do ({@code K6FieldKernels}); a quarter's sum of (q − 32)·x fits 16 bits. Decode is bound by memory.
 */
public final class Q6KFieldsFormat extends LanesFormat {
    /** lane rows per row: three per quarter block */
    public static final int LANE_ROWS = 12;
    /** bytes of a record's quants */
    static final int QUANTS = LANE_ROWS * PAIR_STRIDE;

    Q6KFieldsFormat(int cols) {
        super(Kind.Q6_K_FIELDS, cols, 210L * (cols / 256), QUANTS, Q6KLanesFormat.SECTION);
    }

    /** A copy of {@code t} (Q6_K in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q6_K, 256)) return t;
        Q6KFieldsFormat f = new Q6KFieldsFormat(t.cols());
        return f.copyRows(t, arena, (in, out) -> Q6KLanesFormat.writeRows(f, in, out, 210, Q6KLanesFormat::decodeQ6K, Q6KFieldsFormat::section,
                Q6KFieldsFormat::put));
    }

    /** ORs q of element e of block l of row j into its one or two lanes. */
    private static void put(byte[] out, long record, int j, int l, int e, int q) {
        int k = e / 8, bit = 6 * (e % 8);
        for (int t = bit / 16; t <= (bit + 5) / 16; t++) {
            int at = (int) lane(record, j, 3 * k + t) + 2 * l;
            int shift = bit - 16 * t;
            int v = (shift >= 0 ? q << shift : q >>> -shift) & 0xffff;
            out[at] |= (byte) v;
            out[at + 1] |= (byte) (v >>> 8);
        }
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    /** Byte of row j's (0..3) lane row i (0..11) in a record (block l's lane at 2l further). */
    public static long lane(long record, int j, int i) {
        return record + (long) PAIR_STRIDE * i + 64L * j;
    }

    /** Byte of row j's (0..3) scale section in a record (laid out as {@link Q6KLanesFormat#section}'s). */
    public static long section(long record, int j) {
        return record + QUANTS + (long) Q6KLanesFormat.SECTION * j;
    }

    /** Values as {@link io.stride.core.tensor.format.Q6KFormat} decodes them: d·sc·(q − 32). */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int r = row(offset, n);
        for (int b = 0; b < blocks; b++) {
            int l = b % Q8Activations.GROUP;
            long rec = record(r - r % 4, b / Q8Activations.GROUP);
            long sec = section(rec, r % 4);
            float d = Bytes.f16(src, sec + 2L * ((b / 8) % 4));
            for (int k = 0; k < 4; k++) {
                long bits = 0;
                for (int t = 0; t < 3; t++) {
                    long at = lane(rec, r % 4, 3 * k + t) + 2L * l;
                    bits |= (long) (Bytes.u8(src, at) | Bytes.u8(src, at + 1) << 8) << (16 * t);
                }
                for (int i = 0; i < 8; i++) {
                    int e = 8 * k + i;
                    dst[dstOff + 32 * b + e] = d * Bytes.i8(src, sec + Q6KLanesFormat.scaleByte(l, e / 16)) * ((int) (bits >>> (6 * i) & 63) - 32);
                }
            }
        }
    }
}
