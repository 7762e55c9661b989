package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/**
 * IQ4_XS: super-blocks of 256 values in 8 groups of 32, 4-bit codes into the non-linear levels of {@link IQ4Values},
 * each group with a 6-bit scale biased by 32 (low 4 bits in {@code scales_l}, two per byte; high 2 bits in the 16-bit
 * {@code scales_h}), times the super-block's f16 {@code d}. Layout: d, scales_h, 4 bytes scales_l, 128 bytes of codes
 * (16 per group: low nibbles values 0–15, high nibbles 16–31). Decoded as ggml's {@code dequantize_row_iq4_xs}.
 */
public final class IQ4XSFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 136L * b;
            float d = Bytes.f16(src, o);
            int scalesH = src.get(Bytes.LE_SHORT, o + 2) & 0xFFFF;
            int y = dstOff + 256 * b;
            for (int ib = 0; ib < 8; ib++) {
                int ls = ((Bytes.u8(src, o + 4 + ib / 2) >>> (4 * (ib % 2))) & 0xF) | (((scalesH >>> (2 * ib)) & 3) << 4);
                float dl = d * (ls - 32);
                long q = o + 8 + 16L * ib;
                for (int j = 0; j < 16; j++) {
                    int v = Bytes.u8(src, q + j);
                    dst[y + j] = dl * IQ4Values.LEVELS[v & 0xF];
                    dst[y + 16 + j] = dl * IQ4Values.LEVELS[v >>> 4];
                }
                y += 32;
            }
        }
    }
}
