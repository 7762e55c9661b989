package io.stride.core.sparse;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Subspace iteration against the full eigendecomposition on the Gram matrix of keys-like rows (a decaying spectrum):
 * orthonormal rows, and the variance they capture (the sum of vᵀGv) within 0.1 % of the exact top eigenvectors'.
 */
class TopEigenvectorsTest {
    @Test
    void subspaceIterationCapturesWhatTheExactEigenvectorsDo() {
        int w = 128, n = 600, r = 20;
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[n * w];
        for (int t = 0; t < n; t++) {
            for (int d = 0; d < w; d++) {
                x[t * w + d] = (float) (rnd.nextGaussian() * Math.exp(-d / 12.0) + 0.05 * rnd.nextGaussian());
            }
        }
        float[] g = new float[w * w];
        for (int a = 0; a < w; a++) {
            for (int b = 0; b < w; b++) {
                double s = 0;
                for (int t = 0; t < n; t++) s += (double) x[t * w + a] * x[t * w + b];
                g[a * w + b] = (float) s;
            }
        }
        float[] exact = TopEigenvectors.full(g, w, r), fast = TopEigenvectors.of(g, w, r);
        assertThat(2 * (r + TopEigenvectors.OVERSAMPLE)).as("the subspace path ran").isLessThan(w);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j <= i; j++) {
                assertThat(dot(fast, i, fast, j, w)).as("row %d · row %d", i, j).isCloseTo(i == j ? 1 : 0, org.assertj.core.data.Offset.offset(1e-4));
            }
        }
        double captured = 0, best = 0;
        for (int j = 0; j < r; j++) {
            captured += quadratic(g, fast, j, w);
            best += quadratic(g, exact, j, w);
        }
        System.out.printf("captured %.6g of the exact %.6g%n", captured, best);
        assertThat(captured / best).isGreaterThan(0.999).isLessThan(1.0001);
        assertThat(TopEigenvectors.of(g, w, r)).as("deterministic").isEqualTo(fast);
    }

    private static double dot(float[] a, int i, float[] b, int j, int w) {
        double s = 0;
        for (int d = 0; d < w; d++) s += (double) a[i * w + d] * b[j * w + d];
        return s;
    }

    private static double quadratic(float[] g, float[] v, int j, int w) {
        double s = 0;
        for (int a = 0; a < w; a++) {
            double ga = 0;
            for (int b = 0; b < w; b++) ga += g[a * w + b] * (double) v[j * w + b];
            s += v[j * w + a] * ga;
        }
        return s;
    }
}
