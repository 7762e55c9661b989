package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q5_K weights in block lanes ({@link LanesFormat}): as {@link Q4KLanesFormat} (value d·sc·q − dmin·m per 32-value
 * sub-block, the low four bits of q as Q4_0's nibbles), with q's fifth bits after the nibbles ({@link #high}: row h
 * (0..1) of row j at {@code 2048 + 64j + 256h}, a lane holding the bits of elements 16h..16h + 15 from its low bit up),
 * then the four rows' scale sections laid out as Q4_K's ({@link #section}). 144 · 4 + 16 + 128 bytes per row and lane
 * group instead of the file's 176 · 4.
 */
public final class Q5KLanesFormat extends LanesFormat {
    /** bytes of a record's quants: the nibbles, then the fifth bits */
    static final int QUANTS = QUANT_BYTES + QUANT_BYTES / 4;

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

    /** Byte of row j's fifth-bit row 0 in a record; row h is {@link #PAIR_STRIDE}·h further. */
    public static long high(long record, int j) {
        return record + QUANT_BYTES + 64L * j;
    }

    /** Byte of row j's (0..3) scale section in a record, laid out as {@link Q4KLanesFormat}'s. */
    public static long section(long record, int j) {
        return record + QUANTS + (long) Q4KLanesFormat.SECTION * j;
    }

    private Tensor copyInto(Tensor t, Arena arena) {
        return copyRows(t, arena, (in, out) -> {
            MemorySegment view = MemorySegment.ofArray(in);
            int[] v = new int[32];
            for (int j = 0; j < 4; j++) {
                for (int s = 0; s < cols / 256; s++) {
                    int o = (int) (j * rowBytes) + 176 * s;
                    long rec = record(0, s / 4);
                    Q4KLanesFormat.superBlock(in, view, o, 48, out, rec, (int) section(rec, j), j, s, v);
                    for (int sb = 0; sb < 8; sb++) {
                        int l = (8 * s + sb) % Q8Activations.GROUP;
                        for (int i = 0; i < 32; i++) {
                            int bit = (in[o + 16 + i] >>> sb) & 1;
                            out[(int) (high(rec, j) + PAIR_STRIDE * (i / 16) + 2 * l + (i % 16) / 8)] |= (byte) (bit << (i % 8));
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
            for (int i = 0; i < 32; i++) {
                int q = Bytes.u8(src, quants(rec, r % 4) + quantByte(i % 16, l));
                int lo = i < 16 ? q & 15 : q >>> 4;
                int hi = Bytes.u8(src, high(rec, r % 4) + PAIR_STRIDE * (i / 16) + 2 * l + (i % 16) / 8) >>> (i % 8) & 1;
                dst[dstOff + 32 * b + i] = dl * (lo + (hi << 4)) - ml;
            }
        }
    }
}
