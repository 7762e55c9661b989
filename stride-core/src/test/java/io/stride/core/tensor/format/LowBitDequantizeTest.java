package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.stride.core.tensor.format.DequantizeTest.assertBitExact;
import static io.stride.core.tensor.format.DequantizeTest.half;
import static io.stride.core.tensor.format.DequantizeTest.randomBlocks;
import static io.stride.core.tensor.format.DequantizeTest.run;
import static io.stride.core.tensor.format.DequantizeTest.u;

/**
 * The low-bit types (Q2_K, Q3_K, IQ4_NL, IQ4_XS) decode bit-exactly as ggml's {@code dequantize_row_*}, transcribed
 * here over plain byte arrays, on random blocks.
 */
class LowBitDequantizeTest {
    private final SplittableRandom rnd = new SplittableRandom(7);

    @Test
    void q2_K() {
        int nb = 4;
        byte[] b = randomBlocks(rnd, nb, 84, 80, 82);
        float[] y = new float[nb * 256];
        for (int i = 0; i < nb; i++) {
            int o = i * 84;
            float d = half(b, o + 80), min = half(b, o + 82);
            int q = o + 16, is = 0, yi = i * 256;
            for (int n = 0; n < 256; n += 128) {
                int shift = 0;
                for (int j = 0; j < 4; ++j) {
                    int sc = u(b, o + is++);
                    float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) y[yi++] = dl * (byte) ((u(b, q + l) >> shift) & 3) - ml;
                    sc = u(b, o + is++);
                    dl = d * (sc & 0xF);
                    ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) y[yi++] = dl * (byte) ((u(b, q + l + 16) >> shift) & 3) - ml;
                    shift += 2;
                }
                q += 32;
            }
        }
        assertBitExact(run(GgmlType.Q2_K, b, nb * 256), y);
    }

    @Test
    void q3_K() {
        int nb = 4;
        byte[] b = randomBlocks(rnd, nb, 110, 108);
        float[] y = new float[nb * 256];
        int kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
        for (int i = 0; i < nb; i++) {
            int o = i * 110;
            float dAll = half(b, o + 108);
            // ggml's shuffle of the 12 scale bytes as three little-endian words into four
            int[] aux = new int[4];
            for (int w = 0; w < 3; w++) {
                aux[w] = u(b, o + 96 + 4 * w) | u(b, o + 97 + 4 * w) << 8 | u(b, o + 98 + 4 * w) << 16 | u(b, o + 99 + 4 * w) << 24;
            }
            int tmp = aux[2];
            aux[2] = ((aux[0] >>> 4) & kmask2) | (((tmp >>> 4) & kmask1) << 4);
            aux[3] = ((aux[1] >>> 4) & kmask2) | (((tmp >>> 6) & kmask1) << 4);
            aux[0] = (aux[0] & kmask2) | (((tmp) & kmask1) << 4);
            aux[1] = (aux[1] & kmask2) | (((tmp >>> 2) & kmask1) << 4);
            byte[] scales = new byte[16];
            for (int k = 0; k < 16; k++) scales[k] = (byte) (aux[k / 4] >>> (8 * (k % 4)));
            int q = o + 32, hm = o, is = 0, yi = i * 256, m = 1;
            for (int n = 0; n < 256; n += 128) {
                int shift = 0;
                for (int j = 0; j < 4; ++j) {
                    float dl = dAll * (scales[is++] - 32);
                    for (int l = 0; l < 16; ++l) y[yi++] = dl * ((byte) ((u(b, q + l) >> shift) & 3) - ((u(b, hm + l) & m) != 0 ? 0 : 4));
                    dl = dAll * (scales[is++] - 32);
                    for (int l = 0; l < 16; ++l) y[yi++] = dl * ((byte) ((u(b, q + l + 16) >> shift) & 3) - ((u(b, hm + l + 16) & m) != 0 ? 0 : 4));
                    shift += 2;
                    m <<= 1;
                }
                q += 32;
            }
        }
        assertBitExact(run(GgmlType.Q3_K, b, nb * 256), y);
    }

    private static final int[] KVALUES_IQ4NL = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    @Test
    void iq4_NL() {
        int nb = 8;
        byte[] b = randomBlocks(rnd, nb, 18, 0);
        float[] y = new float[nb * 32];
        for (int i = 0; i < nb; i++) {
            int o = i * 18;
            float d = half(b, o);
            for (int j = 0; j < 16; ++j) {
                y[32 * i + j] = d * KVALUES_IQ4NL[u(b, o + 2 + j) & 0xf];
                y[32 * i + j + 16] = d * KVALUES_IQ4NL[u(b, o + 2 + j) >> 4];
            }
        }
        assertBitExact(run(GgmlType.IQ4_NL, b, nb * 32), y);
    }

    @Test
    void iq4_XS() {
        int nb = 4;
        byte[] b = randomBlocks(rnd, nb, 136, 0);
        float[] y = new float[nb * 256];
        for (int i = 0; i < nb; i++) {
            int o = i * 136;
            float d = half(b, o);
            int scalesH = u(b, o + 2) | u(b, o + 3) << 8;
            int qs = o + 8, yi = i * 256;
            for (int ib = 0; ib < 8; ++ib) {
                int ls = ((u(b, o + 4 + ib / 2) >> 4 * (ib % 2)) & 0xf) | (((scalesH >> 2 * ib) & 3) << 4);
                float dl = d * (ls - 32);
                for (int j = 0; j < 16; ++j) {
                    y[yi + j] = dl * KVALUES_IQ4NL[u(b, qs + j) & 0xf];
                    y[yi + j + 16] = dl * KVALUES_IQ4NL[u(b, qs + j) >> 4];
                }
                yi += 32;
                qs += 16;
            }
        }
        assertBitExact(run(GgmlType.IQ4_XS, b, nb * 256), y);
    }
}
