package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.QuantFormats;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.kernel.VectorMath;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Dequantization is bit-exact with ggml's reference {@code dequantize_row_*}: random blocks are decoded both by
 * the engine's formats and by a direct transcription of the C reference written here over plain byte arrays.
 */
class DequantizeTest {
    private final SplittableRandom rnd = new SplittableRandom(42);

    static float half(byte[] b, int o) {
        return Float.float16ToFloat((short) ((b[o] & 0xff) | (b[o + 1] << 8)));
    }

    static int u(byte[] b, int o) {
        return b[o] & 0xff;
    }

    /** random bytes, with f16 fields set to sane finite values */
    private byte[] randomBlocks(int blocks, int blockBytes, int... halfOffsets) {
        return randomBlocks(rnd, blocks, blockBytes, halfOffsets);
    }

    static byte[] randomBlocks(SplittableRandom rnd, int blocks, int blockBytes, int... halfOffsets) {
        byte[] b = new byte[blocks * blockBytes];
        rnd.nextBytes(b);
        for (int k = 0; k < blocks; k++) {
            for (int h : halfOffsets) {
                short v = Float.floatToFloat16((float) (rnd.nextDouble() * 0.02 - 0.01));
                b[k * blockBytes + h] = (byte) v;
                b[k * blockBytes + h + 1] = (byte) (v >> 8);
            }
        }
        return b;
    }

    static float[] run(GgmlType t, byte[] data, int n) {
        float[] out = new float[n];
        QuantFormats.of(t).dequantize(MemorySegment.ofArray(data), 0, out, 0, n);
        return out;
    }

    static void assertBitExact(float[] got, float[] expected) {
        assertThat(got.length).isEqualTo(expected.length);
        for (int i = 0; i < got.length; i++) {
            assertThat(Float.floatToRawIntBits(got[i])).as("value %d: %s vs %s", i, got[i], expected[i])
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }

    @Test
    void f16AllBitPatterns() {
        byte[] b = new byte[2 * 65536];
        for (int i = 0; i < 65536; i++) {
            b[2 * i] = (byte) i;
            b[2 * i + 1] = (byte) (i >> 8);
        }
        float[] got = run(GgmlType.F16, b, 65536);
        for (int i = 0; i < 65536; i++) {
            float e = Float.float16ToFloat((short) i);
            if (Float.isNaN(e)) {
                assertThat(got[i]).isNaN();
            } else {
                assertThat(Float.floatToRawIntBits(got[i])).as("half 0x%04x", i).isEqualTo(Float.floatToRawIntBits(e));
            }
        }
    }

    @Test
    void bf16() {
        byte[] b = randomBlocks(64, 2);
        float[] exp = new float[64];
        for (int i = 0; i < 64; i++) exp[i] = Float.intBitsToFloat((u(b, 2 * i) | (u(b, 2 * i + 1) << 8)) << 16);
        float[] got = run(GgmlType.BF16, b, 64);
        for (int i = 0; i < 64; i++) {
            if (Float.isNaN(exp[i])) assertThat(got[i]).isNaN();
            else assertThat(got[i]).isEqualTo(exp[i]);
        }
    }

    @Test
    void q8_0() {
        int nb = 8;
        byte[] b = randomBlocks(nb, 34, 0);
        float[] exp = new float[nb * 32];
        for (int i = 0; i < nb; i++) {
            float d = half(b, i * 34);
            for (int j = 0; j < 32; j++) exp[i * 32 + j] = b[i * 34 + 2 + j] * d;
        }
        assertBitExact(run(GgmlType.Q8_0, b, nb * 32), exp);
    }

    @Test
    void q4_0() {
        int nb = 8;
        byte[] b = randomBlocks(nb, 18, 0);
        float[] exp = new float[nb * 32];
        for (int i = 0; i < nb; i++) {
            float d = half(b, i * 18);
            for (int j = 0; j < 16; j++) {
                int x0 = (u(b, i * 18 + 2 + j) & 0x0F) - 8;
                int x1 = (u(b, i * 18 + 2 + j) >> 4) - 8;
                exp[i * 32 + j] = x0 * d;
                exp[i * 32 + j + 16] = x1 * d;
            }
        }
        assertBitExact(run(GgmlType.Q4_0, b, nb * 32), exp);
    }

    @Test
    void q4_1() {
        int nb = 8;
        byte[] b = randomBlocks(nb, 20, 0, 2);
        float[] exp = new float[nb * 32];
        for (int i = 0; i < nb; i++) {
            float d = half(b, i * 20), m = half(b, i * 20 + 2);
            for (int j = 0; j < 16; j++) {
                exp[i * 32 + j] = (u(b, i * 20 + 4 + j) & 0x0F) * d + m;
                exp[i * 32 + j + 16] = (u(b, i * 20 + 4 + j) >> 4) * d + m;
            }
        }
        assertBitExact(run(GgmlType.Q4_1, b, nb * 32), exp);
    }

    private static int qh32(byte[] b, int o) {
        return u(b, o) | (u(b, o + 1) << 8) | (u(b, o + 2) << 16) | (u(b, o + 3) << 24);
    }

    @Test
    void q5_0AndQ5_1() {
        int nb = 8;
        byte[] b = randomBlocks(nb, 22, 0);
        float[] exp = new float[nb * 32];
        for (int i = 0; i < nb; i++) {
            int o = i * 22;
            float d = half(b, o);
            int qh = qh32(b, o + 2);
            for (int j = 0; j < 16; j++) {
                int xh0 = ((qh >>> j) << 4) & 0x10;
                int xh1 = ((qh >>> (j + 12))) & 0x10;
                exp[i * 32 + j] = (((u(b, o + 6 + j) & 0x0F) | xh0) - 16) * d;
                exp[i * 32 + j + 16] = (((u(b, o + 6 + j) >> 4) | xh1) - 16) * d;
            }
        }
        assertBitExact(run(GgmlType.Q5_0, b, nb * 32), exp);

        byte[] c = randomBlocks(nb, 24, 0, 2);
        float[] exp1 = new float[nb * 32];
        for (int i = 0; i < nb; i++) {
            int o = i * 24;
            float d = half(c, o), m = half(c, o + 2);
            int qh = qh32(c, o + 4);
            for (int j = 0; j < 16; j++) {
                int xh0 = ((qh >>> j) << 4) & 0x10;
                int xh1 = ((qh >>> (j + 12))) & 0x10;
                exp1[i * 32 + j] = ((u(c, o + 8 + j) & 0x0F) | xh0) * d + m;
                exp1[i * 32 + j + 16] = ((u(c, o + 8 + j) >> 4) | xh1) * d + m;
            }
        }
        assertBitExact(run(GgmlType.Q5_1, c, nb * 32), exp1);
    }

    /** ggml's get_scale_min_k4 */
    private static int[] scaleMin(int j, byte[] q, int o) {
        if (j < 4) return new int[]{u(q, o + j) & 63, u(q, o + j + 4) & 63};
        return new int[]{(u(q, o + j + 4) & 0xF) | ((u(q, o + j - 4) >> 6) << 4), (u(q, o + j + 4) >> 4) | ((u(q, o + j) >> 6) << 4)};
    }

    @Test
    void q4_K() {
        int nb = 4;
        byte[] b = randomBlocks(nb, 144, 0, 2);
        float[] y = new float[nb * 256];
        for (int i = 0; i < nb; i++) {
            int o = i * 144;
            float d = half(b, o), min = half(b, o + 2);
            int q = o + 16, is = 0, yi = i * 256;
            for (int j = 0; j < 256; j += 64) {
                int[] sm = scaleMin(is, b, o + 4);
                float d1 = d * sm[0], m1 = min * sm[1];
                sm = scaleMin(is + 1, b, o + 4);
                float d2 = d * sm[0], m2 = min * sm[1];
                for (int l = 0; l < 32; ++l) y[yi++] = d1 * (u(b, q + l) & 0xF) - m1;
                for (int l = 0; l < 32; ++l) y[yi++] = d2 * (u(b, q + l) >> 4) - m2;
                q += 32;
                is += 2;
            }
        }
        assertBitExact(run(GgmlType.Q4_K, b, nb * 256), y);
    }

    @Test
    void q5_K() {
        int nb = 4;
        byte[] b = randomBlocks(nb, 176, 0, 2);
        float[] y = new float[nb * 256];
        for (int i = 0; i < nb; i++) {
            int o = i * 176;
            float d = half(b, o), min = half(b, o + 2);
            int qh = o + 16, ql = o + 48, is = 0, yi = i * 256, u1 = 1, u2 = 2;
            for (int j = 0; j < 256; j += 64) {
                int[] sm = scaleMin(is, b, o + 4);
                float d1 = d * sm[0], m1 = min * sm[1];
                sm = scaleMin(is + 1, b, o + 4);
                float d2 = d * sm[0], m2 = min * sm[1];
                for (int l = 0; l < 32; ++l) y[yi++] = d1 * ((u(b, ql + l) & 0xF) + ((u(b, qh + l) & u1) != 0 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; ++l) y[yi++] = d2 * ((u(b, ql + l) >> 4) + ((u(b, qh + l) & u2) != 0 ? 16 : 0)) - m2;
                ql += 32;
                is += 2;
                u1 <<= 2;
                u2 <<= 2;
            }
        }
        assertBitExact(run(GgmlType.Q5_K, b, nb * 256), y);
    }

    @Test
    void q6_K() {
        int nb = 4;
        byte[] b = randomBlocks(nb, 210, 208);
        float[] y = new float[nb * 256];
        for (int i = 0; i < nb; i++) {
            int o = i * 210;
            float d = half(b, o + 208);
            int ql = o, qh = o + 128, sc = o + 192, yi = i * 256;
            for (int n = 0; n < 256; n += 128) {
                for (int l = 0; l < 32; ++l) {
                    int is = l / 16;
                    int q1 = ((u(b, ql + l) & 0xF) | (((u(b, qh + l) >> 0) & 3) << 4)) - 32;
                    int q2 = ((u(b, ql + l + 32) & 0xF) | (((u(b, qh + l) >> 2) & 3) << 4)) - 32;
                    int q3 = ((u(b, ql + l) >> 4) | (((u(b, qh + l) >> 4) & 3) << 4)) - 32;
                    int q4 = ((u(b, ql + l + 32) >> 4) | (((u(b, qh + l) >> 6) & 3) << 4)) - 32;
                    y[yi + l] = d * b[sc + is] * q1;
                    y[yi + l + 32] = d * b[sc + is + 2] * q2;
                    y[yi + l + 64] = d * b[sc + is + 4] * q3;
                    y[yi + l + 96] = d * b[sc + is + 6] * q4;
                }
                yi += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
        assertBitExact(run(GgmlType.Q6_K, b, nb * 256), y);
    }

    @Test
    void matmulMatchesScalarProduct() {
        int rows = 37, cols = 96, batch = 7;
        byte[] w = randomBlocks(rows * cols / 32, 34, 0);
        Tensor t = new Tensor("w", GgmlType.Q8_0, rows, cols, MemorySegment.ofArray(w), QuantFormats.of(GgmlType.Q8_0));
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] dense = t.toFloats();
        try (WorkerPool pool = new WorkerPool(2)) {
            float[] out = new float[batch * rows];
            new MatMul(pool).multiply(t, x, batch, out);
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < rows; r++) {
                    double s = 0;
                    for (int k = 0; k < cols; k++) s += (double) dense[r * cols + k] * x[b * cols + k];
                    assertThat((double) out[b * rows + r]).isCloseTo(s, org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    /** The fused decode-and-dot kernels agree with decoding then a plain dot product, for every format. */
    @Test
    void fusedDotsMatchDequantizeThenDot() {
        int n = 512;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        for (GgmlType t : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q2_K, GgmlType.Q3_K,
                GgmlType.IQ4_NL, GgmlType.IQ4_XS}) {
            int blocks = n / t.blockSize;
            int[] halves = switch (t) {
                case Q8_0, Q4_0, Q5_0, IQ4_NL, IQ4_XS -> new int[]{0};
                case Q4_1, Q5_1, Q4_K, Q5_K -> new int[]{0, 2};
                case Q6_K -> new int[]{208};
                case Q2_K -> new int[]{80, 82};
                case Q3_K -> new int[]{108};
                default -> new int[0];
            };
            byte[] data = randomBlocks(blocks, t.blockBytes, halves);
            if (t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
                data = new byte[(int) t.bytesFor(n)];
                QuantFormats.of(t == GgmlType.BF16 ? GgmlType.F32 : t).quantize(v, 0, n, t == GgmlType.BF16 ? new byte[4 * n] : data, 0);
                if (t == GgmlType.BF16) {
                    for (int i = 0; i < n; i++) {
                        int bits = Float.floatToRawIntBits(v[i]);
                        data[2 * i] = (byte) (bits >>> 16);
                        data[2 * i + 1] = (byte) (bits >>> 24);
                    }
                }
            }
            float[] dense = run(t, data, n);
            double expected = 0;
            double scale = 0;
            for (int i = 0; i < n; i++) {
                expected += (double) dense[i] * x[i];
                scale += Math.abs((double) dense[i] * x[i]);
            }
            float got = QuantFormats.of(t).dot(MemorySegment.ofArray(data), 0, x, 0, n, new float[n + 4 * VectorMath.LANES]);
            assertThat((double) got).as("%s fused dot", t).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5 * scale + 1e-6));
        }
    }
}
