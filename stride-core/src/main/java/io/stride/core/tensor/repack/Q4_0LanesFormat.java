package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q4_0 weights in block lanes ({@link LanesFormat}): a record's quants are the file's bytes reordered, its scales the
 * four rows' 32 f16 block scales (64 bytes per row), in the order decode reads them. Same bytes per row as the file,
 * same values. 5632-wide rows (176 blocks) take 6 · 32 blocks, 9 % more bytes, for one kernel without masked or
 * narrower loads, which the JIT compiles to much slower code.
 */
public final class Q4_0LanesFormat extends LanesFormat {
    Q4_0LanesFormat(int cols) {
        super(Kind.Q4_0, cols, 18L * (cols / 32), QUANT_BYTES, 64);
    }

    /** A copy of {@code t} (Q4_0 in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q4_0, 32)) return t;
        return new Q4_0LanesFormat(t.cols()).copyInto(t, arena);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    /** Byte of row j's (0..3) 32 scales in a record: after the quants, the order decode reads them in. */
    public static long scales(long record, int j) {
        return record + QUANT_BYTES + 64L * j;
    }

    private Tensor copyInto(Tensor t, Arena arena) {
        // one pass at load time, groups of four rows in parallel, each reordered on the heap
        return copyRows(t, arena, (in, out) -> {
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
        });
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
}
