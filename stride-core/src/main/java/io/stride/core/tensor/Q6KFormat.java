package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** Q6_K: super-blocks of 256 six-bit values (low nibbles + 2 high bits), 16 int8 scales, one f16 d. */
final class Q6KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 210L * b;
            long ql = o;
            long qh = o + 128;
            long sc = o + 192;
            float d = Bytes.f16(src, o + 208);
            int y = dstOff + 256 * b;
            for (int half = 0; half < 2; half++) {
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int h = Bytes.u8(src, qh + l);
                    int a = Bytes.u8(src, ql + l);
                    int c = Bytes.u8(src, ql + l + 32);
                    int q1 = ((a & 0x0f) | ((h & 3) << 4)) - 32;
                    int q2 = ((c & 0x0f) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((c >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    dst[y + l] = d * Bytes.i8(src, sc + is) * q1;
                    dst[y + l + 32] = d * Bytes.i8(src, sc + is + 2) * q2;
                    dst[y + l + 64] = d * Bytes.i8(src, sc + is + 4) * q3;
                    dst[y + l + 96] = d * Bytes.i8(src, sc + is + 6) * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }
}
