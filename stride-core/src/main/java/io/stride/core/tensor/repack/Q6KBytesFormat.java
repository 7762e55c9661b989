package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q6_K weights in block lanes ({@link LanesFormat}) with one signed byte per value: q − 32 (−32..31) of a value
 * (d·sc)·(q − 32). A record holds, for the four rows, element e (0..31) of the 32 blocks of row j as 32 bytes at
 * {@code 32·(4e + j)} (block l at byte l: one sign-extending load gives a 16-bit lane per block), then per row the
 * 72-byte scale section of {@link Q6KLanesFormat} ({@link #section}).
 * <p>Why bytes: the products then cost one widening, one multiply and one add per 32 values, where the file's 6 bits
 * (4 + 2, {@link Q6KLanesFormat}) cost two of each; the price is 8.56 bits per value in memory instead of 6.56.
 */
public final class Q6KBytesFormat extends LanesFormat {
    /** bytes of a record's quants: four rows × 32 elements × 32 blocks */
    static final int QUANTS = 4 * 32 * Q8Activations.GROUP;

    Q6KBytesFormat(int cols) {
        super(Kind.Q6_K_BYTES, cols, 210L * (cols / 256), QUANTS, Q6KLanesFormat.SECTION);
    }

    /** A copy of {@code t} (Q6_K in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q6_K, 256)) return t;
        Q6KBytesFormat f = new Q6KBytesFormat(t.cols());
        return f.copyRows(t, arena, (in, out) -> Q6KLanesFormat.writeRows(f, in, out, 210, Q6KLanesFormat::decodeQ6K, Q6KBytesFormat::section,
                (o, rec, j, l, e, q) -> o[(int) element(rec, j, e) + l] = (byte) (q - 32)));
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    /** Byte of element e (0..31) of row j's (0..3) blocks in a record; block l's byte is l further. */
    public static long element(long record, int j, int e) {
        return record + 32L * (4 * e + j);
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
            for (int e = 0; e < 32; e++) {
                dst[dstOff + 32 * b + e] = d * Bytes.i8(src, sec + Q6KLanesFormat.scaleByte(l, e / 16)) * Bytes.i8(src, element(rec, r % 4, e) + l);
            }
        }
    }
}
