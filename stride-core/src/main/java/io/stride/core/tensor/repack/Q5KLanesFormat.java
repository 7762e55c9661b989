package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q5_K weights in block lanes ({@link LanesFormat}): each 32-value sub-block is one lane block (value d·sc·q − dmin·m,
 * q = 0..31), its q in 5-bit fields, three to a 16-bit lane: a record holds eleven lane rows per row ({@link #lane}:
 * lane row i of row j at {@code 256i + 64j}); lane row 5h + m (h = 0..1, m = 0..4) holds elements 16h + 3m + k in
 * bits 5k..5k + 4 (k = 0..2), lane row 10 elements 15 (bits 0..4) and 31 (bits 5..9). So a lane's three products
 * stay within one half of the block (at most 16 values a 16-bit sum of (q − 16)·x can hold), and the two left over
 * share a lane of their own. Then the four rows' scale sections, laid out as Q4_K's ({@link #section}): 2,816 + 320
 * bytes per four rows and lane group instead of the file's 176 · 4 · 4.
 */
public final class Q5KLanesFormat extends LanesFormat {
    /** lane rows per row: five per half block, one for the two values left over */
    public static final int LANE_ROWS = 11;
    /** bytes of a record's quants */
    static final int QUANTS = LANE_ROWS * PAIR_STRIDE;

    Q5KLanesFormat(int cols) {
        super(Kind.Q5_K, cols, 176L * (cols / 256), QUANTS, Q4KLanesFormat.SECTION);
    }

    /** A copy of {@code t} (Q5_K in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q5_K, 256)) return t;
        return new Q5KLanesFormat(t.cols()).copyInto(t, arena);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    /** Byte of row j's (0..3) lane row i (0..10) in a record (block l's lane at 2l further). */
    public static long lane(long record, int j, int i) {
        return record + (long) PAIR_STRIDE * i + 64L * j;
    }

    /** The lane row of element e (0..31) of a block. */
    public static int laneOf(int e) {
        return e == 15 ? 10 : e == 31 ? 10 : e < 16 ? e / 3 : 5 + (e - 16) / 3;
    }

    /** The low bit of element e's field in its lane. */
    public static int shiftOf(int e) {
        return e == 15 ? 0 : e == 31 ? 5 : 5 * ((e % 16) % 3);
    }

    /** Byte of row j's (0..3) scale section in a record, laid out as {@link Q4KLanesFormat}'s. */
    public static long section(long record, int j) {
        return record + QUANTS + (long) Q4KLanesFormat.SECTION * j;
    }

    private Tensor copyInto(Tensor t, Arena arena) {
        return copyRows(t, arena, (in, out) -> {
            MemorySegment view = MemorySegment.ofArray(in);
            for (int j = 0; j < 4; j++) {
                for (int s = 0; s < cols / 256; s++) {
                    int o = (int) (j * rowBytes) + 176 * s;
                    long rec = record(0, s / 4);
                    Q4KLanesFormat.scaleSection(in, view, o, out, (int) section(rec, j), s);
                    for (int sb = 0; sb < 8; sb++) {
                        int l = (8 * s + sb) % Q8Activations.GROUP;
                        for (int e = 0; e < 32; e++) {
                            int lo = ((in[o + 48 + 32 * (sb / 2) + e] & 0xff) >>> (4 * (sb % 2))) & 15;
                            int q = lo + (((in[o + 16 + e] >>> sb) & 1) << 4);
                            int at = (int) lane(rec, j, laneOf(e)) + 2 * l;
                            int v = (out[at] & 0xff | (out[at + 1] & 0xff) << 8) | q << shiftOf(e);
                            out[at] = (byte) v;
                            out[at + 1] = (byte) (v >>> 8);
                        }
                    }
                }
            }
        });
    }

    /** Values as {@link io.stride.core.tensor.format.Q5KFormat} decodes them: (d·sc)·q − dmin·m. */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int r = row(offset, n);
        for (int b = 0; b < blocks; b++) {
            int l = b % Q8Activations.GROUP;
            long rec = record(r - r % 4, b / Q8Activations.GROUP);
            long sec = section(rec, r % 4);
            int sbIndex = (b / 8) % 4;
            float d = Bytes.f16(src, sec + 2L * sbIndex), dmin = Bytes.f16(src, sec + 8 + 2L * sbIndex);
            float dl = d * Bytes.u8(src, sec + Q4KLanesFormat.scaleByte(l)), ml = dmin * Bytes.u8(src, sec + Q4KLanesFormat.scaleByte(l) + 32);
            for (int e = 0; e < 32; e++) {
                long at = lane(rec, r % 4, laneOf(e)) + 2L * l;
                int v = Bytes.u8(src, at) | Bytes.u8(src, at + 1) << 8;
                dst[dstOff + 32 * b + e] = dl * ((v >>> shiftOf(e)) & 31) - ml;
            }
        }
    }
}
