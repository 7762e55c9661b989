package io.stride.core.tensor.kernel;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The tile kernels give every key the bits of the one-key {@link AttentionKernels#score} (so attention does not depend
 * on which keys happen to lie in whole tiles), and those scores and weighted sums are the real dot products.
 */
class AttentionKernelsTest {
    private static final int T = AttentionKernels.TILE;

    @Test
    void tileScoresHaveTheBitsOfOneKeyScoresAndAreDotProducts() {
        SplittableRandom r = new SplittableRandom(7);
        for (int hd : new int[]{64, 80, 128, 3}) {
            int tiles = 3;
            float[] keys = random(r, tiles * T * hd);
            float[] q = random(r, 4 * hd + 5);
            float scale = (float) (1 / Math.sqrt(hd));
            int stride = tiles * T;
            float[] four = new float[4 * stride];
            float[] one = new float[4 * stride];
            int lanes = AttentionKernels.lanes();
            // columns of tile 0 paired with columns of tile 2; tile 1 paired with itself (the odd column at the end)
            for (int col = 0; col < T; col += lanes) {
                AttentionKernels.scores4x2(q, 5, 5 + hd, 5 + 2 * hd, 5 + 3 * hd, hd, keys, col, 2 * T * hd + col, scale,
                        four, 0, stride, col, 2 * T + col);
                AttentionKernels.scores4x2(q, 5, 5 + hd, 5 + 2 * hd, 5 + 3 * hd, hd, keys, T * hd + col, T * hd + col, scale,
                        four, 0, stride, T + col, T + col);
                for (int h = 0; h < 4; h++) {
                    AttentionKernels.scores1x2(q, 5 + h * hd, hd, keys, col, 2 * T * hd + col, scale, one, h * stride, col, 2 * T + col);
                    AttentionKernels.scores1x2(q, 5 + h * hd, hd, keys, T * hd + col, T * hd + col, scale, one, h * stride, T + col, T + col);
                }
            }
            for (int h = 0; h < 4; h++) {
                for (int key = 0; key < tiles * T; key++) {
                    int kOff = (key / T) * T * hd + key % T;
                    float s = AttentionKernels.score(q, 5 + h * hd, hd, keys, kOff, scale);
                    assertThat(Float.floatToRawIntBits(four[h * stride + key])).as("4x2 head %d key %d hd %d", h, key, hd)
                            .isEqualTo(Float.floatToRawIntBits(s));
                    assertThat(Float.floatToRawIntBits(one[h * stride + key])).as("1x2 head %d key %d hd %d", h, key, hd)
                            .isEqualTo(Float.floatToRawIntBits(s));
                    double exact = 0;
                    for (int d = 0; d < hd; d++) exact += (double) q[5 + h * hd + d] * keys[kOff + T * d];
                    assertThat((double) s).isCloseTo(exact * scale, within(1e-5 * Math.sqrt(hd)));
                }
            }
        }
    }

    @Test
    void fourHeadWeightedSumsHaveTheBitsOfOneHeadSums() {
        SplittableRandom r = new SplittableRandom(11);
        int n = 4 * AttentionKernels.lanes() * 4, count = 37, stride = 40;
        float[] values = random(r, 50 * n);
        float[] w = random(r, 4 * stride);
        int[] offs = new int[count];
        for (int t = 0; t < count; t++) offs[t] = r.nextInt(49) * n;
        float[] four = new float[4 * n + 3];
        AttentionKernels.weightedSum4(four, 3, 3 + n, 3 + 2 * n, 3 + 3 * n, w, 0, stride, 2 * stride, 3 * stride, values, offs, n / 2, count, n / 2);
        for (int h = 0; h < 4; h++) {
            float[] one = new float[n / 2];
            LayerOps.weightedSum(one, 0, w, h * stride, values, offs, n / 2, count, n / 2);
            for (int d = 0; d < n / 2; d++) {
                assertThat(Float.floatToRawIntBits(four[3 + h * n + d])).as("head %d value %d", h, d).isEqualTo(Float.floatToRawIntBits(one[d]));
                double exact = 0;
                for (int t = 0; t < count; t++) exact += (double) w[h * stride + t] * values[offs[t] + n / 2 + d];
                assertThat((double) one[d]).isCloseTo(exact, within(1e-4));
            }
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextDouble(-1, 1);
        return a;
    }
}
