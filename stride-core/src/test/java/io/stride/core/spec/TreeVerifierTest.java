package io.stride.core.spec;

import io.stride.core.ChiSquare;
import io.stride.core.sampling.Sampler;
import io.stride.core.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exactness of the verifier's rejection sampling on a 6-token vocabulary: over 20,000 seeded verifications
 * the committed tokens (first token, and the second where the first was an accepted draft) follow the
 * target's distribution, for a tree of deterministic candidates and for a chain sampled from a draft q.
 */
class TreeVerifierTest {
    static final int V = 6;
    static final int N = 20_000;
    static final SamplingParams T1 = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, Map.of(), 1);

    static float[] softmax(float[] l, int off) {
        float[] p = new float[V];
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < V; i++) max = Math.max(max, l[off + i]);
        for (int i = 0; i < V; i++) sum += Math.exp(l[off + i] - max);
        for (int i = 0; i < V; i++) p[i] = (float) (Math.exp(l[off + i] - max) / sum);
        return p;
    }

    /** Checks the joint distribution of (first, second-if-first-was-a-child-of-root) tokens. */
    static void check(DraftTree tree, float[] logits, long[][] counts, long[] stops) {
        float[] p0 = softmax(logits, 0);
        int bins = 0;
        double[] expected = new double[V * V + V];
        long[] observed = new long[V * V + V];
        for (int a = 0; a < V; a++) {
            int child = tree.child(DraftTree.ROOT, a);
            if (child < 0) {
                expected[bins] = N * p0[a];
                observed[bins++] = stops[a];
            } else {
                float[] p1 = softmax(logits, (child + 1) * V);
                for (int b = 0; b < V; b++) {
                    expected[bins] = N * p0[a] * p1[b];
                    observed[bins++] = counts[a][b];
                }
            }
        }
        double[] e = java.util.Arrays.copyOf(expected, bins);
        long[] o = java.util.Arrays.copyOf(observed, bins);
        double chi = ChiSquare.statistic(o, e);
        double pv = ChiSquare.pValue(chi, bins - 1);
        assertThat(pv).as("chi-square %.2f with %d df", chi, bins - 1).isGreaterThan(0.01);
    }

    @Test
    void deterministicCandidateTreeKeepsTheTargetDistribution() {
        float[] logits = new float[5 * V];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
        DraftTree tree = new DraftTree();
        int c0 = tree.add(DraftTree.ROOT, 2);
        tree.add(DraftTree.ROOT, 0);
        tree.add(DraftTree.ROOT, 5);
        tree.add(c0, 1);
        TreeVerifier verifier = new TreeVerifier(V);
        long[][] counts = new long[V][V];
        long[] stops = new long[V];
        Sampler sampler = new Sampler(T1, V);
        int[] ctx = {3};
        long accepted = 0;
        for (int i = 0; i < N; i++) {
            int n = verifier.verify(tree, logits, 0, sampler, ctx, 1);
            int a = verifier.token(0);
            if (verifier.node(0) >= 0) {
                counts[a][verifier.token(1)]++;
                accepted++;
            } else {
                stops[a]++;
            }
            assertThat(n).isBetween(1, 3);
        }
        assertThat(accepted).isPositive();
        check(tree, logits, counts, stops);
    }

    @Test
    void sampledDraftChainKeepsTheTargetDistribution() {
        float[] logits = new float[3 * V];
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (1.5 * r.nextGaussian());
        float[] q = softmax(new float[]{2f, 0.5f, -1f, 0f, 1f, -0.5f}, 0);
        TreeVerifier verifier = new TreeVerifier(V);
        Sampler sampler = new Sampler(T1, V);
        SplittableRandom draftRng = new SplittableRandom(3);
        int[] ctx = {3};
        // the tree changes per draw (the draft token is sampled from q), so tally against a fixed layout:
        // the first token's distribution must be p0, whatever was drafted
        long[] first = new long[V];
        long rejected = 0;
        for (int i = 0; i < N; i++) {
            DraftTree tree = new DraftTree();
            double u = draftRng.nextDouble(), cum = 0;
            int x = V - 1;
            for (int t = 0; t < V; t++) {
                cum += q[t];
                if (u < cum) { x = t; break; }
            }
            int node = tree.add(DraftTree.ROOT, x);
            System.arraycopy(q, 0, tree.draftProbabilities(node, V), 0, V);
            verifier.verify(tree, logits, 0, sampler, ctx, 1);
            first[verifier.token(0)]++;
            if (verifier.node(0) < 0) rejected++;
        }
        float[] p0 = softmax(logits, 0);
        double[] e = new double[V];
        for (int t = 0; t < V; t++) e[t] = N * p0[t];
        double chi = ChiSquare.statistic(first, e);
        assertThat(rejected).as("the draft differs from the target, so some drafts are rejected").isPositive();
        assertThat(ChiSquare.pValue(chi, V - 1)).as("chi-square %.2f", chi).isGreaterThan(0.01);
    }

    @Test
    void greedyFollowsTheArgmaxPath() {
        float[] logits = new float[3 * V];
        logits[4] = 5; // root prefers 4
        logits[V + 1] = 5; // node 0 (token 4) prefers 1
        logits[2 * V + 2] = 5; // node 1 (token 1) prefers 2
        DraftTree tree = new DraftTree();
        int a = tree.add(DraftTree.ROOT, 4);
        tree.add(a, 1);
        TreeVerifier v = new TreeVerifier(V);
        int n = v.verify(tree, logits, 0, new Sampler(SamplingParams.GREEDY, V), new int[]{0}, 1);
        assertThat(n).isEqualTo(3);
        assertThat(new int[]{v.token(0), v.token(1), v.token(2)}).containsExactly(4, 1, 2);
        assertThat(v.node(2)).isEqualTo(-1);
    }
}
