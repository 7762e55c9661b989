package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.format.KQuantScales;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q4_K weights in block lanes ({@link LanesFormat}): each 32-value sub-block is one lane block (value d·sc·q − dmin·m,
 * q = 0..15), its nibbles reordered as Q4_0's. A lane group (32 sub-blocks) is exactly four super-blocks; a row's
 * scale section in a record (80 bytes, {@link #section}) holds the four super-blocks' d then dmin (f16, 2 bytes
 * each), then the 6-bit scales sc of the even sub-blocks (sub-block 2k at byte 16 + k), of the odd ones (32 + k),
 * then the mins m likewise (48 + k, 64 + k), one byte each: the values of the file, unpacked, 144 · 4 + 16 bytes
 * per row and lane group instead of 144 · 4.
 */
public final class Q4KLanesFormat extends LanesFormat {
    /** bytes of one row's scale section in a record */
    public static final int SECTION = 80;

    Q4KLanesFormat(int cols) {
        super(Kind.Q4_K, cols, 144L * (cols / 256), QUANT_BYTES, SECTION);
    }

    /** A copy of {@code t} (Q4_K in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q4_K, 256)) return t;
        return new Q4KLanesFormat(t.cols()).copyInto(t, arena);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** Byte of row j's (0..3) scale section in a record. */
    public static long section(long record, int j) {
        return record + QUANT_BYTES + (long) SECTION * j;
    }

    /** Offset in a scale section of sub-block l's (0..31) scale byte; its min is 32 bytes further. */
    static int scaleByte(int l) {
        return 16 + (l % 2) * 16 + l / 2;
    }

    private Tensor copyInto(Tensor t, Arena arena) {
        return copyRows(t, arena, (in, out) -> {
            MemorySegment view = MemorySegment.ofArray(in);
            int[] v = new int[32];
            for (int j = 0; j < 4; j++) {
                for (int s = 0; s < cols / 256; s++) {
                    superBlock(in, view, (int) (j * rowBytes) + 144 * s, 16, out, record(0, s / 4), (int) section(record(0, s / 4), j), j, s, v);
                }
            }
        });
    }

    /**
     * Writes super-block s of row j (file bytes at {@code in[o ..]}: d, dmin, packed scales, then the nibbles at
     * {@code o + qs}) into record {@code rec}: its {@link #scaleSection} and the nibbles in Q4_0 order.
     */
    static void superBlock(byte[] in, MemorySegment view, int o, int qs, byte[] out, long rec, int sec, int j, int s, int[] v) {
        scaleSection(in, view, o, out, sec, s);
        for (int sb = 0; sb < 8; sb++) {
            int l = (8 * s + sb) % Q8Activations.GROUP;
            for (int i = 0; i < 32; i++) {
                int b = in[o + qs + 32 * (sb / 2) + i] & 0xff;
                v[i] = sb % 2 == 0 ? b & 15 : b >>> 4;
            }
            for (int m = 0; m < 16; m++) out[(int) (quants(rec, j) + quantByte(m, l))] = (byte) (v[m] | v[m + 16] << 4);
        }
    }

    /**
     * Writes super-block s's d and dmin (file bytes at {@code in[o ..]}) and its unpacked scales and mins into the scale
     * section at {@code out[sec ..]}. Shared by Q4_K and Q5_K (whose sections are laid out alike).
     */
    static void scaleSection(byte[] in, MemorySegment view, int o, byte[] out, int sec, int s) {
        for (int k = 0; k < 2; k++) {
            out[sec + 2 * (s % 4) + k] = in[o + k];
            out[sec + 8 + 2 * (s % 4) + k] = in[o + 2 + k];
        }
        for (int sb = 0; sb < 8; sb++) {
            int l = (8 * s + sb) % Q8Activations.GROUP;
            out[sec + scaleByte(l)] = (byte) KQuantScales.scale(view, o + 4, sb);
            out[sec + scaleByte(l) + 32] = (byte) KQuantScales.min(view, o + 4, sb);
        }
    }

    /** Values as {@link io.stride.core.tensor.format.Q4KFormat} decodes them: (d·sc)·q − dmin·m. */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int r = row(offset, n);
        for (int b = 0; b < blocks; b++) {
            int l = b % Q8Activations.GROUP;
            long rec = record(r - r % 4, b / Q8Activations.GROUP);
            long sec = section(rec, r % 4);
            int sbIndex = (b / 8) % 4;
            float d = Bytes.f16(src, sec + 2L * sbIndex), dmin = Bytes.f16(src, sec + 8 + 2L * sbIndex);
            float dl = d * Bytes.u8(src, sec + scaleByte(l)), ml = dmin * Bytes.u8(src, sec + scaleByte(l) + 32);
            for (int m = 0; m < 16; m++) {
                int q = Bytes.u8(src, quants(rec, r % 4) + quantByte(m, l));
                dst[dstOff + 32 * b + m] = dl * (q & 15) - ml;
                dst[dstOff + 32 * b + m + 16] = dl * (q >>> 4) - ml;
            }
        }
    }
}
