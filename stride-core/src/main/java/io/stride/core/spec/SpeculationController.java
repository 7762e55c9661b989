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
    static final int PROBE_EVERY_MAX = 512;
    private static final double DECAY = 0.85;
    private final int maxDraft;
    private final boolean adaptive;
    private double draftNanosPerToken;
    private double expectedSum = 1;
    private double realizedSum = 1;
    private double lastExpected;
    private double acceptedSum = 1;
    private double rejectedSum = 1;
    private int sinceProbe;
    private int probeEvery = PROBE_EVERY;
    private boolean probing;
    private float[] sorted = new float[16];

    /** @param adaptive false: always ask for {@code maxDraft} tokens */
    public SpeculationController(int maxDraft, boolean adaptive) {
        if (maxDraft < 1) {
            throw new IllegalArgumentException("the most drafted tokens per step must be >= 1");
        }
        this.maxDraft = maxDraft;
        this.adaptive = adaptive;
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
        return backOff(best);
    }

    /**
     * {@code best} when speculation pays; otherwise 0, except for a short probe now and then, ever more rarely
     * while probes keep showing that it does not pay (bounded overhead).
     */
    private int backOff(int best) {
        if (best == 0) {
            if (probing) {
                probeEvery = Math.min(PROBE_EVERY_MAX, probeEvery * 2);
                probing = false;
            }
            if (++sinceProbe >= probeEvery) {
                sinceProbe = 0;
                probing = true;
                return Math.min(2, maxDraft);
            }
            return 0;
        }
        sinceProbe = 0;
        probing = false;
        probeEvery = PROBE_EVERY;
        return best;
    }

    /**
     * For a tree whose nodes carry the drafter's acceptance estimates ({@link DraftTree#scored()}): the number of
     * best nodes to verify, maximising (1 + sum of their estimates) / cost; 0 when no node pays for itself.
     */
    public int treeSize(DraftTree tree, StepCostModel cost, int decoding) {
        int n = tree.size();
        if (sorted.length < n) {
            sorted = new float[Math.max(n, 2 * sorted.length)];
        }
        // the drafter's estimates, scaled by how well such estimates have come true for this sequence
        float calibration = (float) calibration();
        for (int i = 0; i < n; i++) sorted[i] = tree.score(i) * calibration;
        java.util.Arrays.sort(sorted, 0, n);
        int b = Math.max(1, decoding);
        int best = 0;
        double bestRate = 1.0;
        double expected = 1;
        for (int m = 1; m <= n; m++) {
            expected += Math.min(1f, Math.max(0f, sorted[n - m]));
            double rate = expected / cost.relative(b * (m + 1), b);
            if (rate > bestRate * 1.02) {
                best = m;
                bestRate = rate;
            }
        }
        return Math.min(n, backOff(best));
    }

    /** Accepted tokens per expected accepted token over recent scored steps (1 without evidence; at most 1.5). */
    public double calibration() {
        return Math.min(1.5, realizedSum / expectedSum);
    }

    /**
     * Fills {@code tree} (cleared first) with this step's draft: at most {@code cap} nodes (room left in the
     * request and the batch), sized by acceptance and measured cost (cheap drafters that
     * {@link DraftMethod#scoresDrafts() score} their trees are asked for full-size trees); a tree with acceptance
     * estimates is then cut to the nodes that pay for their verification. {@code decoding}: sequences decoding this step.
     * Returns the tree's size.
     */
    public int draft(Drafter drafter, DraftMethod method, int[] context, int length, int cap, DraftTree tree, float[] hidden,
                     StepCostModel cost, int decoding) {
        tree.clear();
        int want = !adaptive ? maxDraft : method.scoresDrafts() ? maxDraft : nextDraftSize(cost, decoding, draftNanosPerToken);
        int k = Math.min(cap, want);
        if (k <= 0) {
            return 0;
        }
        long t0 = System.nanoTime();
        drafter.propose(context, length, k, tree, hidden);
        draftNanosPerToken = 0.8 * draftNanosPerToken + 0.2 * (System.nanoTime() - t0) / (double) k;
        tree.truncate(k);
        if (adaptive && tree.scored()) {
            tree.keepBest(treeSize(tree, cost, decoding));
            lastExpected = 0;
            for (int i = 0; i < tree.size(); i++) lastExpected += tree.score(i);
        }
        return tree.size();
    }

    /** Records a verify step: the deepest drafted path had {@code depth} tokens, {@code accepted} were kept. */
    public void record(int depth, int accepted) {
        if (depth <= 0) {
            return;
        }
        acceptedSum = acceptedSum * DECAY + accepted;
        rejectedSum = rejectedSum * DECAY + (accepted < depth ? 1 : 0);
        if (lastExpected > 0) {
            expectedSum = expectedSum * DECAY + lastExpected;
            realizedSum = realizedSum * DECAY + accepted;
            lastExpected = 0;
        }
    }
}
