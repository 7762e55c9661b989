package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.KQuantDot;

import java.lang.foreign.MemorySegment;

/** Q5_K: like Q4_K with a fifth bit per value in 32 bytes of high bits. */
public final class Q5KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (KQuantDot.FAST) {
            KQuantDot.q45kDequantize(src, offset, dst, dstOff, n, 176, 48, 16);
            return;
        }
        for (int b = 0; b < n / 256; b++) {
            long o = offset + 176L * b;
            float d = Bytes.f16(src, o);
            float dmin = Bytes.f16(src, o + 2);
            long sc = o + 4;
            long qh = o + 16;
            long ql = o + 48;
            int y = dstOff + 256 * b;
            int u1 = 1;
            int u2 = 2;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
                float d1 = d * KQuantScales.scale(src, sc, is);
                float m1 = dmin * KQuantScales.min(src, sc, is);
                float d2 = d * KQuantScales.scale(src, sc, is + 1);
                float m2 = dmin * KQuantScales.min(src, sc, is + 1);
                for (int l = 0; l < 32; l++) {
                    int v = Bytes.u8(src, ql + l);
                    int h = Bytes.u8(src, qh + l);
                    dst[y + l] = d1 * ((v & 0x0f) + ((h & u1) != 0 ? 16 : 0)) - m1;
                    dst[y + 32 + l] = d2 * ((v >>> 4) + ((h & u2) != 0 ? 16 : 0)) - m2;
                }
                ql += 32;
                y += 64;
                u1 <<= 2;
                u2 <<= 2;
            }
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** As llama.cpp's {@code quantize_row_q5_K_ref}: levels 0..31, the low 4 bits in nibbles, the fifth bit in qh. */
    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        int[] L = new int[256];
        for (int b = 0; b < n / 256; b++) {
            int o = dstOff + 176 * b;
            KQuantizer.scalesAndLevels(src, srcOff + 256 * b, dst, o, 31, -0.5f, 15, L);
            int qh = o + 16;
            int ql = o + 48;
            java.util.Arrays.fill(dst, qh, qh + 32, (byte) 0);
            int m1 = 1, m2 = 2;
            for (int n0 = 0; n0 < 256; n0 += 64) {
                for (int j = 0; j < 32; ++j) {
                    int l1 = L[n0 + j];
                    if (l1 > 15) {
                        l1 -= 16;
                        dst[qh + j] |= (byte) m1;
                    }
                    int l2 = L[n0 + j + 32];
                    if (l2 > 15) {
                        l2 -= 16;
                        dst[qh + j] |= (byte) m2;
                    }
                    dst[ql + j] = (byte) (l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
                ql += 32;
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        return KQuantDot.FAST ? KQuantDot.q45k(w, offset, x, xOff, n, 176, 48, 16, scratch) : QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
    }
}
