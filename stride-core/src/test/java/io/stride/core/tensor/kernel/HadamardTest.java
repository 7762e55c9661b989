package io.stride.core.tensor.kernel;

import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The fast transform multiplies by llama.cpp's rotation matrix (built here as its ggml_gen_hadamard builds it). */
class HadamardTest {
    @Test
    void fastTransformIsTheSylvesterMatrixAndItsOwnInverse() {
        for (int n : new int[] {64, 128}) {
            float[][] h = sylvester(n);
            Random r = new Random(n);
            float[] x = new float[2 * n];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] y = x.clone();
            Hadamard.rotate(y, 0, 2 * n, n);
            for (int b = 0; b < 2; b++) {
                for (int i = 0; i < n; i++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) s += h[i][j] * x[b * n + j];
                    assertThat((double) y[b * n + i]).isCloseTo(s, within(1e-5));
                }
            }
            double before = 0, after = 0;
            for (int i = 0; i < x.length; i++) {
                before += x[i] * x[i];
                after += y[i] * y[i];
            }
            assertThat(after).as("orthonormal").isCloseTo(before, within(1e-3));
            Hadamard.rotate(y, 0, 2 * n, n);
            for (int i = 0; i < x.length; i++) assertThat(y[i]).isCloseTo(x[i], within(1e-5f));
        }
    }

    @Test
    void quantizedTypesAreRotatedAsLlamaCppRotatesThem() {
        KvCacheConfig q = KvCacheConfig.of(KvCacheType.Q4_0, KvCacheType.Q8_0);
        assertThat(q.keyRotation(64)).isEqualTo(64);
        assertThat(q.keyRotation(128)).isEqualTo(128);
        assertThat(q.keyRotation(192)).isEqualTo(64);
        assertThat(q.keyRotation(96)).isZero();
        assertThat(q.valueRotation(128)).isEqualTo(64);
        assertThat(KvCacheConfig.of(KvCacheType.F16).keyRotation(128)).isZero();
        assertThat(KvCacheConfig.of(KvCacheType.F16).valueRotation(128)).isZero();
        assertThat(new KvCacheConfig(KvCacheType.Q8_0, KvCacheType.Q8_0, false).keyRotation(128)).isZero();
    }

    /** ggml_gen_hadamard: data[0] = 1/√n, then each s-block copied right, down and negated down-right. */
    private static float[][] sylvester(int n) {
        float[][] d = new float[n][n];
        d[0][0] = (float) (1.0 / Math.sqrt(n));
        for (int s = 1; s < n; s *= 2) {
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) {
                    float v = d[i][j];
                    d[i + s][j] = v;
                    d[i][j + s] = v;
                    d[i + s][j + s] = -v;
                }
            }
        }
        return d;
    }
}
