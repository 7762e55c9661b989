package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/**
 * Q2_K: super-blocks of 256 values in 16 groups of 16, two bits each; per group a 4-bit scale and a 4-bit min
 * (low and high nibble of one byte), times the super-block's f16 {@code d} and {@code dmin}. Layout: 16 scale bytes,
 * 64 bytes of 2-bit values (four values per byte, one per bit pair, 32 bytes per half of 128), d, dmin.
 * Decoded as ggml's {@code dequantize_row_q2_K}.
 */
public final class Q2KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 84L * b;
            float d = Bytes.f16(src, o + 80);
            float min = Bytes.f16(src, o + 82);
            int y = dstOff + 256 * b;
            int is = 0;
            for (int half = 0; half < 2; half++) {
                long q = o + 16 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int g = 0; g < 2; g++) {
                        int sc = Bytes.u8(src, o + is++);
                        float dl = d * (sc & 0xF);
                        float ml = min * (sc >>> 4);
                        for (int l = 0; l < 16; l++) {
                            dst[y++] = dl * ((Bytes.u8(src, q + 16 * g + l) >>> shift) & 3) - ml;
                        }
                    }
                }
            }
        }
    }
}
