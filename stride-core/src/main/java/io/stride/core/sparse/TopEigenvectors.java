package io.stride.core.sparse;

import io.stride.core.tensor.kernel.VectorMath;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The eigenvectors of the r largest eigenvalues of a symmetric positive semi-definite w × w matrix (a Gram matrix KᵀK,
 * whose eigenvectors are K's right singular vectors): the full eigendecomposition when r is a large part of w;
 * otherwise subspace iteration on r + {@link #OVERSAMPLE} vectors from a fixed pseudo-random start, then the
 * Rayleigh-Ritz step on that subspace, O(w² · r) per iteration instead of the full decomposition's O(w³), which
 * would dominate the first ShadowKV step for wide keys (Llama-3-8B's are 1,024 wide). A function of the matrix alone.
 */
public final class TopEigenvectors {
    static final int OVERSAMPLE = 16, ITERATIONS = 10;

    private TopEigenvectors() {}

    /** The top r eigenvectors of {@code g} (w × w, row-major, symmetric), as r rows of w floats, largest first. */
    public static float[] of(float[] g, int w, int r) {
        int k = Math.min(w, r + OVERSAMPLE);
        return 2 * k >= w ? full(g, w, r) : subspace(g, w, r, k);
    }

    static float[] full(float[] g, int w, int r) {
        double[][] m = new double[w][w];
        for (int a = 0; a < w; a++) {
            for (int b = 0; b < w; b++) {
                m[a][b] = g[a * w + b];
            }
        }
        EigenDecomposition eig = new EigenDecomposition(new Array2DRowRealMatrix(m, false));
        double[] values = eig.getRealEigenvalues();
        Integer[] order = descending(values);
        float[] basis = new float[r * w];
        for (int j = 0; j < r; j++) {
            double[] v = eig.getEigenvector(order[j]).toArray();
            for (int d = 0; d < w; d++) {
                basis[j * w + d] = (float) v[d];
            }
        }
        return basis;
    }

    static float[] subspace(float[] g, int w, int r, int k) {
        float[] v = new float[k * w], z = new float[k * w], lanes = new float[VectorMath.LANES];
        SplittableRandom rnd = new SplittableRandom(0x5eedL);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        orthonormalize(v, k, w);
        for (int it = 0; it < ITERATIONS; it++) {
            multiply(g, w, v, k, z, lanes);
            float[] t = v;
            v = z;
            z = t;
            orthonormalize(v, k, w);
        }
        // Rayleigh-Ritz: the eigenvectors of Vᵀ G V rotate the subspace's basis into G's eigenvectors
        multiply(g, w, v, k, z, lanes);
        double[][] h = new double[k][k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int d = 0; d < w; d++) {
                    s += (double) v[i * w + d] * z[j * w + d];
                }
                h[i][j] = s;
                h[j][i] = s;
            }
        }
        EigenDecomposition eig = new EigenDecomposition(new Array2DRowRealMatrix(h, false));
        Integer[] order = descending(eig.getRealEigenvalues());
        float[] basis = new float[r * w];
        double[] row = new double[w];
        for (int j = 0; j < r; j++) {
            double[] u = eig.getEigenvector(order[j]).toArray();
            Arrays.fill(row, 0);
            for (int i = 0; i < k; i++) {
                for (int d = 0; d < w; d++) {
                    row[d] += u[i] * v[i * w + d];
                }
            }
            for (int d = 0; d < w; d++) {
                basis[j * w + d] = (float) row[d];
            }
        }
        return basis;
    }

    /** Row j of {@code z} = G · row j of {@code v} (G symmetric, so rows stand for columns). */
    private static void multiply(float[] g, int w, float[] v, int k, float[] z, float[] lanes) {
        for (int j = 0; j < k; j++) {
            for (int a = 0; a < w; a++) {
                z[j * w + a] = VectorMath.dot(g, a * w, v, j * w, w, lanes, 0);
            }
        }
    }

    /** Modified Gram-Schmidt on the k rows of v (w wide), in double; a row that vanishes is left zero. */
    private static void orthonormalize(float[] v, int k, int w) {
        double[] row = new double[w];
        for (int j = 0; j < k; j++) {
            for (int d = 0; d < w; d++) {
                row[d] = v[j * w + d];
            }
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (int d = 0; d < w; d++) {
                    dot += row[d] * v[i * w + d];
                }
                for (int d = 0; d < w; d++) {
                    row[d] -= dot * v[i * w + d];
                }
            }
            double norm = 0;
            for (int d = 0; d < w; d++) {
                norm += row[d] * row[d];
            }
            double inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
            for (int d = 0; d < w; d++) {
                v[j * w + d] = (float) (row[d] * inv);
            }
        }
    }

    private static Integer[] descending(double[] values) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> values[y] != values[x] ? Double.compare(values[y], values[x]) : Integer.compare(x, y));
        return order;
    }
}
