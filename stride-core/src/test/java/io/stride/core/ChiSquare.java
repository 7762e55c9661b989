package io.stride.core;

/** Chi-square goodness of fit: the statistic's upper-tail probability (regularised incomplete gamma Q). */
public final class ChiSquare {
    private ChiSquare() {}

    /** P(X >= x) for X chi-square distributed with {@code df} degrees of freedom. */
    public static double pValue(double x, int df) {
        return upperGamma(df / 2.0, x / 2.0);
    }

    /** Statistic of observed counts against expected counts (same length). */
    public static double statistic(long[] observed, double[] expected) {
        double chi = 0;
        for (int i = 0; i < observed.length; i++) {
            double d = observed[i] - expected[i];
            chi += d * d / expected[i];
        }
        return chi;
    }

    private static double upperGamma(double a, double x) {
        if (x <= 0) return 1.0;
        if (x < a + 1) {
            // series for P, then Q = 1 - P
            double sum = 1.0 / a, term = sum;
            for (int n = 1; n < 1000; n++) {
                term *= x / (a + n);
                sum += term;
                if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
            }
            return 1.0 - sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
        }
        // continued fraction for Q (modified Lentz)
        double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
        for (int i = 1; i < 1000; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.abs(d) < 1e-300) d = 1e-300;
            c = b + an / c;
            if (Math.abs(c) < 1e-300) c = 1e-300;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < 1e-15) break;
        }
        return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
    }

    /** Lanczos approximation. */
    private static double logGamma(double z) {
        double[] g = {676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
                12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
        if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
        z -= 1;
        double x = 0.99999999999980993;
        for (int i = 0; i < g.length; i++) x += g[i] / (z + i + 1);
        double t = z + g.length - 0.5;
        return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
    }
}
