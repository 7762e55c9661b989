package io.stride.core.spec;

/**
 * How long a forward pass over n tokens takes on this machine, learned online from the passes the engine
 * runs (an exponential moving average per token count; unmeasured counts interpolated, or extrapolated with
 * a prior slope). Speculation uses it to judge whether verifying k more tokens is nearly free.
 */
public final class StepCostModel {
    /** Largest token count tracked individually; larger batches are extrapolated. */
    public static final int MAX_TOKENS = 256;
    private static final double WEIGHT = 0.2;
    private final double priorSlope;
    private final double[] nanos = new double[MAX_TOKENS + 1];

    /** {@code priorSlope}: assumed extra cost of each token beyond the first, relative to one token, until measured. */
    public StepCostModel(double priorSlope) {
        this.priorSlope = priorSlope;
    }

    /** Records that a pass over {@code tokens} tokens took {@code elapsed} nanoseconds. */
    public void record(int tokens, long elapsed) {
        if (tokens < 1 || tokens > MAX_TOKENS || elapsed <= 0) {
            return;
        }
        nanos[tokens] = nanos[tokens] == 0 ? elapsed : (1 - WEIGHT) * nanos[tokens] + WEIGHT * elapsed;
    }

    /** Estimated cost of {@code tokens} tokens relative to {@code base} tokens (>= 1 when tokens >= base). */
    public double relative(int tokens, int base) {
        double b = estimate(base);
        double t = estimate(tokens);
        if (b <= 0 || t <= 0) {
            return 1 + priorSlope * (tokens - base) / Math.max(1, base);
        }
        return Math.max(1.0, t / b);
    }

    /** Estimated nanoseconds for {@code tokens} tokens, 0 when nothing has been measured. */
    public double estimate(int tokens) {
        int n = Math.max(1, Math.min(tokens, MAX_TOKENS));
        if (nanos[n] > 0) {
            return scaleBeyond(nanos[n], n, tokens);
        }
        int lo = n - 1;
        while (lo >= 1 && nanos[lo] == 0) lo--;
        int hi = n + 1;
        while (hi <= MAX_TOKENS && nanos[hi] == 0) hi++;
        if (lo >= 1 && hi <= MAX_TOKENS) {
            double f = (n - lo) / (double) (hi - lo);
            return scaleBeyond(nanos[lo] + f * (nanos[hi] - nanos[lo]), n, tokens);
        }
        if (lo >= 1) {
            double perToken = nanos[lo] / (1 + priorSlope * (lo - 1));
            return scaleBeyond(nanos[lo] + perToken * priorSlope * (n - lo), n, tokens);
        }
        if (hi <= MAX_TOKENS) {
            double one = nanos[hi] / (1 + priorSlope * (hi - 1));
            return one * (1 + priorSlope * (n - 1));
        }
        return 0;
    }

    private static double scaleBeyond(double atN, int n, int tokens) {
        return tokens > n ? atN * tokens / n : atN;
    }
}
