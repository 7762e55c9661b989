package io.stride.core.diffusion;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.stat.descriptive.moment.Mean;
import org.apache.commons.math3.stat.descriptive.moment.StandardDeviation;

import java.util.Arrays;

/**
 * Fits a {@link FinalityFilter} to decoder traces: each sample is a masked position at a step (its features) labelled
 * with whether its pick then equals the token the one-token-per-step decoder finally put there. Logistic regression on
 * standardized features by Newton's method (an 8×8 Cholesky solve per iteration, commons-math): seconds on a CPU for
 * tens of thousands of samples, and deterministic.
 */
public final class FilterTrainer implements StepObserver {
    private final int n = FinalityFilter.FEATURES.length;
    private float[] x = new float[1 << 14];
    private int[] pos = new int[1 << 11], pick = new int[1 << 11];
    private boolean[] label = new boolean[1 << 11];
    private int samples, labelled;

    @Override
    public void observe(int position, int token, float[] features) {
        if (samples == pos.length) {
            int c = samples * 2;
            pos = Arrays.copyOf(pos, c);
            pick = Arrays.copyOf(pick, c);
            label = Arrays.copyOf(label, c);
        }
        if ((samples + 1) * n > x.length) x = Arrays.copyOf(x, x.length * 2);
        System.arraycopy(features, 0, x, samples * n, n);
        pos[samples] = position;
        pick[samples] = token;
        samples++;
    }

    /** Labels the samples observed since the last call against the finished canvas of that generation. */
    public void finish(int[] canvas) {
        for (int i = labelled; i < samples; i++) {
            label[i] = canvas[pos[i]] == pick[i];
        }
        labelled = samples;
    }

    public int samples() {
        return labelled;
    }

    /** Fraction of labelled samples whose pick was final. */
    public double positiveRate() {
        int p = 0;
        for (int i = 0; i < labelled; i++) if (label[i]) p++;
        return labelled == 0 ? 0 : p / (double) labelled;
    }

    /** The fitted filter, unmasking at {@code threshold}; L2 penalty {@code lambda} keeps separable data finite. */
    public FinalityFilter fit(double threshold, double lambda) {
        int m = labelled;
        if (m < 2 * n) throw new IllegalStateException("too few samples to fit a filter: " + m);
        double[] mean = new double[n], scale = new double[n];
        for (int j = 0; j < n; j++) {
            double[] column = new double[m];
            for (int i = 0; i < m; i++) column[i] = x[i * n + j];
            mean[j] = new Mean().evaluate(column);
            scale[j] = Math.max(new StandardDeviation(false).evaluate(column, mean[j]), 1e-6);
        }
        int k = n + 1; // weights, then the bias
        double[] w = new double[k];
        double[] z = new double[k];
        for (int iter = 0; iter < 25; iter++) {
            double[] grad = new double[k];
            double[][] h = new double[k][k];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) z[j] = (x[i * n + j] - mean[j]) / scale[j];
                z[n] = 1;
                double s = 0;
                for (int j = 0; j < k; j++) s += w[j] * z[j];
                double p = 1 / (1 + Math.exp(-s)), y = label[i] ? 1 : 0, q = p * (1 - p);
                for (int a = 0; a < k; a++) {
                    grad[a] += (p - y) * z[a];
                    for (int b = 0; b <= a; b++) h[a][b] += q * z[a] * z[b];
                }
            }
            for (int a = 0; a < k; a++) {
                for (int b = 0; b < a; b++) h[b][a] = h[a][b];
                if (a < n) {
                    grad[a] += lambda * w[a];
                    h[a][a] += lambda;
                }
            }
            double[] step = new CholeskyDecomposition(new Array2DRowRealMatrix(h, false)).getSolver()
                    .solve(new ArrayRealVector(grad, false)).toArray();
            double size = 0;
            for (int a = 0; a < k; a++) {
                w[a] -= step[a];
                size = Math.max(size, Math.abs(step[a]));
            }
            if (size < 1e-8) break;
        }
        return new FinalityFilter(mean, scale, Arrays.copyOf(w, n), w[n], threshold);
    }
}
