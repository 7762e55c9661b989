package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.kernel.KQuantDot;

import java.lang.foreign.MemorySegment;

/** Q6_K: super-blocks of 256 six-bit values (low nibbles + 2 high bits), 16 int8 scales, one f16 d. */
public final class Q6KFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (KQuantDot.FAST) {
            KQuantDot.q6kDequantize(src, offset, dst, dstOff, n);
            return;
        }
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

    /** Fused decode-and-dot in the canonical order (the bits of decoding then {@link VectorMath#dot}). */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        return KQuantDot.FAST ? KQuantDot.q6k(w, offset, x, xOff, n, scratch) : QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        int[] L = new int[256];
        float[] scales = new float[16];
        for (int b = 0; b < n / 256; b++) {
            int x = srcOff + 256 * b;
            int o = dstOff + 210 * b;
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ++ib) {
                float scale = QuantMath.makeQxQuants(16, 32, src, x + 16 * ib, L, 16 * ib, 1);
                scales[ib] = scale;
                float abs = Math.abs(scale);
                if (abs > maxAbsScale) {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            java.util.Arrays.fill(dst, o, o + 210, (byte) 0);
            if (maxAbsScale < QuantMath.GROUP_MAX_EPS) {
                continue;
            }
            float iscale = -128.f / maxScale;
            QuantMath.putHalf(dst, o + 208, 1 / iscale);
            float d16 = QuantMath.half(1 / iscale);
            for (int ib = 0; ib < 16; ++ib) {
                dst[o + 192 + ib] = (byte) Math.min(127, QuantMath.nearestInt(iscale * scales[ib]));
            }
            for (int j = 0; j < 16; ++j) {
                float d = d16 * dst[o + 192 + j];
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ++ii) {
                    int l = QuantMath.nearestInt(src[x + 16 * j + ii] / d);
                    l = Math.max(-32, Math.min(31, l));
                    L[16 * j + ii] = l + 32;
                }
            }
            int ql = o, qh = o + 128;
            for (int j = 0; j < 256; j += 128) {
                for (int l = 0; l < 32; ++l) {
                    int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                    dst[ql + l] = (byte) (q1 | (q3 << 4));
                    dst[ql + l + 32] = (byte) (q2 | (q4 << 4));
                    dst[qh + l] = (byte) ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
                }
                ql += 64;
                qh += 32;
            }
        }
    }

}
