package io.stride.core.spec;

/**
 * Adaptive speculation length for one sequence. It tracks how often drafted tokens are accepted (a decayed
 * estimate of the per-token acceptance rate a) and picks the draft size k that maximises the expected tokens
 * per unit of time, (1 + a + a^2 + ... + a^k) / cost(k), where cost comes from the measured
 * {@link StepCostModel} for the current number of decoding sequences plus the drafter's own time. When no
 * k > 0 pays (weak drafts, or a batch so large that verification is no longer nearly free) it backs off to
 * plain decoding and only probes with a short draft every {@link #PROBE_EVERY} steps.
 */
public final class SpeculationController {
    static final int PROBE_EVERY = 16;
    private static final double DECAY = 0.85;
    private final int maxDraft;
    private double acceptedSum = 1;
    private double rejectedSum = 1;
    private int sinceProbe;

    public SpeculationController(int maxDraft) {
        if (maxDraft < 1) {
            throw new IllegalArgumentException("the most drafted tokens per step must be >= 1");
        }
        this.maxDraft = maxDraft;
    }

    public int maxDraft() {
        return maxDraft;
    }

    /** Estimated probability that the next drafted token is accepted. */
    public double acceptanceRate() {
        return acceptedSum / (acceptedSum + rejectedSum);
    }

    /**
     * Draft size for the next step. {@code decoding}: sequences decoding in this step (each may speculate);
     * {@code draftNanosPerToken}: the drafter's own cost per drafted token (0 for model-free drafters).
     */
    public int nextDraftSize(StepCostModel cost, int decoding, double draftNanosPerToken) {
        double a = acceptanceRate();
        int b = Math.max(1, decoding);
        double base = cost.estimate(b);
        int best = 0;
        double bestRate = 1.0;
        double expected = 1;
        double term = 1;
        for (int k = 1; k <= maxDraft; k++) {
            term *= a;
            expected += term;
            double rel = cost.relative(b * (k + 1), b);
            if (base > 0) {
                rel += k * draftNanosPerToken / (base / b);
            }
            double rate = expected / rel;
            if (rate > bestRate * 1.02) {
                best = k;
                bestRate = rate;
            }
        }
        if (best == 0) {
            if (++sinceProbe >= PROBE_EVERY) {
                sinceProbe = 0;
                return Math.min(2, maxDraft);
            }
            return 0;
        }
        sinceProbe = 0;
        return best;
    }

    /** Records a verify step: the deepest drafted path had {@code depth} tokens, {@code accepted} were kept. */
    public void record(int depth, int accepted) {
        if (depth <= 0) {
            return;
        }
        acceptedSum = acceptedSum * DECAY + accepted;
        rejectedSum = rejectedSum * DECAY + (accepted < depth ? 1 : 0);
    }
}
