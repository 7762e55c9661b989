package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/**
 * Q3_K: super-blocks of 256 values in 16 groups of 16, three bits each (two low bits in {@code qs}, the high bit in
 * {@code hmask}, set meaning "no −4"), with 6-bit group scales biased by 32, times the super-block's f16 {@code d}.
 * Layout: 32 bytes hmask, 64 bytes qs, 12 bytes of packed scales, d. Decoded as ggml's {@code dequantize_row_q3_K}.
 */
public final class Q3KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 110L * b;
            float dAll = Bytes.f16(src, o + 108);
            int y = dstOff + 256 * b;
            int is = 0;
            int m = 1;
            for (int half = 0; half < 2; half++) {
                long q = o + 32 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int g = 0; g < 2; g++) {
                        float dl = dAll * (scale(src, o + 96, is++) - 32);
                        for (int l = 0; l < 16; l++) {
                            int low = (Bytes.u8(src, q + 16 * g + l) >>> shift) & 3;
                            int high = (Bytes.u8(src, o + 16 * g + l) & m) != 0 ? 0 : 4;
                            dst[y++] = dl * (low - high);
                        }
                    }
                    m <<= 1;
                }
            }
        }
    }

    /** q3 (−4..3) of value i (0..255) of the super-block at {@code o}: value = d·(scale(i / 16) − 32)·q3. */
    public static int q3(MemorySegment src, long o, int i) {
        int half = i / 128, shift = (i % 128) / 32, g = (i % 32) / 16, l = i % 16;
        int low = (Bytes.u8(src, o + 32 + 32 * half + 16 * g + l) >>> (2 * shift)) & 3;
        return low - ((Bytes.u8(src, o + 16 * g + l) & (1 << (4 * half + shift))) != 0 ? 0 : 4);
    }

    /**
     * Six-bit scale j of the 16 packed in 12 bytes at {@code o}: its low 4 bits are the low nibble of byte j (j < 8) or
     * the high nibble of byte j − 8, its high 2 bits are bits 2·(j / 4) of byte 8 + j % 4 (ggml's kmask shuffle of three
     * little-endian words).
     */
    public static int scale(MemorySegment src, long o, int j) {
        int low = j < 8 ? Bytes.u8(src, o + j) & 0xF : Bytes.u8(src, o + j - 8) >>> 4;
        int high = (Bytes.u8(src, o + 8 + j % 4) >>> (2 * (j / 4))) & 3;
        return low | high << 4;
    }
}
