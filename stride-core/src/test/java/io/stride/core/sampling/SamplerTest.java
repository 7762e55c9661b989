package io.stride.core.sampling;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SamplerTest {
    private static final float[] LOGITS = {2.0f, 1.5f, 1.0f, 0.2f, -0.5f, -1.0f};
    /** chi-square critical values at p = 0.001 for 1..10 degrees of freedom */
    private static final double[] CRITICAL = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59};
    private static final int N = 20_000;

    private static SamplingParams params(float t, int k, float p, float min, long seed) {
        return new SamplingParams(t, k, p, min, 1f, 64, 0f, 0f, Map.of(), seed);
    }

    private static double[] softmax(float[] l, boolean[] keep, float t) {
        double[] p = new double[l.length];
        double sum = 0;
        for (int i = 0; i < l.length; i++) {
            if (keep[i]) {
                p[i] = Math.exp(l[i] / t);
                sum += p[i];
            }
        }
        for (int i = 0; i < l.length; i++) p[i] /= sum;
        return p;
    }

    private static boolean[] all() {
        boolean[] k = new boolean[LOGITS.length];
        Arrays.fill(k, true);
        return k;
    }

    private static int[] histogram(SamplingParams p) {
        Sampler s = new Sampler(p, LOGITS.length);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < N; i++) counts[s.sample(LOGITS, 0, new int[0], 0)]++;
        return counts;
    }

    private static void assertMatches(int[] counts, double[] expected) {
        double chi = 0;
        int df = -1;
        for (int i = 0; i < counts.length; i++) {
            if (expected[i] == 0) {
                assertThat(counts[i]).as("token %d is excluded and must never be drawn", i).isZero();
                continue;
            }
            double e = expected[i] * N;
            chi += (counts[i] - e) * (counts[i] - e) / e;
            df++;
        }
        assertThat(chi).as("chi-square with %d df, counts %s, expected %s", df, Arrays.toString(counts), Arrays.toString(expected))
                .isLessThan(CRITICAL[Math.max(0, df - 1)]);
    }

    @Test
    void temperature() {
        for (float t : new float[]{0.5f, 1.0f, 1.7f}) {
            assertMatches(histogram(params(t, 0, 1f, 0f, 7)), softmax(LOGITS, all(), t));
        }
    }

    @Test
    void topK() {
        boolean[] keep = {true, true, true, false, false, false};
        assertMatches(histogram(params(0.9f, 3, 1f, 0f, 11)), softmax(LOGITS, keep, 0.9f));
    }

    @Test
    void topP() {
        double[] p1 = softmax(LOGITS, all(), 1f); // top-p is measured at temperature 1, as in llama.cpp
        boolean[] keep = new boolean[LOGITS.length];
        double cum = 0;
        for (int i = 0; i < LOGITS.length && cum < 0.8; i++) {
            keep[i] = true;
            cum += p1[i];
        }
        assertThat(keep).containsExactly(true, true, true, false, false, false);
        assertMatches(histogram(params(1.2f, 0, 0.8f, 0f, 13)), softmax(LOGITS, keep, 1.2f));
    }

    @Test
    void minP() {
        double[] p1 = softmax(LOGITS, all(), 1f);
        boolean[] keep = new boolean[LOGITS.length];
        for (int i = 0; i < LOGITS.length; i++) keep[i] = p1[i] >= 0.3 * p1[0];
        assertThat(keep).containsExactly(true, true, true, false, false, false);
        assertMatches(histogram(params(1.0f, 0, 1f, 0.3f, 17)), softmax(LOGITS, keep, 1.0f));
    }

    @Test
    void greedyPenaltiesAndBias() {
        assertThat(new Sampler(SamplingParams.GREEDY, 6).sample(LOGITS, 0, new int[0], 0)).isZero();
        SamplingParams biased = SamplingParams.GREEDY.withLogitBias(Map.of(0, -100f));
        assertThat(new Sampler(biased, 6).sample(LOGITS, 0, new int[0], 0)).isEqualTo(1);
        SamplingParams rep = SamplingParams.GREEDY.withPenalties(2f, 64, 0f, 0f);
        assertThat(new Sampler(rep, 6).sample(LOGITS, 0, new int[]{0}, 1)).isEqualTo(1); // 2.0/2 = 1.0 < 1.5
        SamplingParams freq = SamplingParams.GREEDY.withPenalties(1f, 64, 0.3f, 0f);
        assertThat(new Sampler(freq, 6).sample(LOGITS, 0, new int[]{0, 0}, 2)).isEqualTo(1); // 2.0 - 0.6 = 1.4 < 1.5
        SamplingParams presence = SamplingParams.GREEDY.withPenalties(1f, 64, 0f, 0.6f);
        assertThat(new Sampler(presence, 6).sample(LOGITS, 0, new int[]{0}, 1)).isEqualTo(1);
        // window: a token outside the last N is not penalised
        SamplingParams window = SamplingParams.GREEDY.withPenalties(2f, 1, 0f, 0f);
        assertThat(new Sampler(window, 6).sample(LOGITS, 0, new int[]{0, 3}, 2)).isZero();
    }

    @Test
    void sameSeedSameDraws() {
        List<Integer> a = new ArrayList<>(), b = new ArrayList<>(), c = new ArrayList<>();
        Sampler s1 = new Sampler(params(1f, 0, 1f, 0f, 99), 6);
        Sampler s2 = new Sampler(params(1f, 0, 1f, 0f, 99), 6);
        Sampler s3 = new Sampler(params(1f, 0, 1f, 0f, 100), 6);
        for (int i = 0; i < 50; i++) {
            a.add(s1.sample(LOGITS, 0, new int[0], 0));
            b.add(s2.sample(LOGITS, 0, new int[0], 0));
            c.add(s3.sample(LOGITS, 0, new int[0], 0));
        }
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
    }

    /**
     * The heap-based truncation keeps exactly the candidates, with exactly the probabilities, of a full descending
     * sort (ties by id) followed by top-k, top-p and min-p: llama.cpp's order, transcribed here as the reference.
     */
    @Test
    void truncationEqualsTheSortedReference() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        int vocab = 3000;
        float[] l = new float[vocab];
        for (int trial = 0; trial < 6; trial++) {
            for (int i = 0; i < vocab; i++) {
                l[i] = trial % 2 == 0 ? (float) (r.nextGaussian() * 3) : (float) r.nextInt(12) * 0.5f; // odd trials: many ties
                if (r.nextInt(50) == 0) l[i] = Float.NEGATIVE_INFINITY;
            }
            for (int k : new int[]{0, 1, 5, 40}) {
                for (float p : new float[]{1f, 0.9f, 0.5f}) {
                    for (float min : new float[]{0f, 0.05f, 0.3f}) {
                        for (float t : new float[]{0.7f, 1.3f}) {
                            float[] dense = new float[vocab];
                            new Sampler(params(t, k, p, min, 1), vocab).distribution(l, 0, new int[0], 0, dense);
                            assertThat(dense).as("k=%d p=%s min=%s t=%s", k, p, min, t).containsExactly(reference(l, t, k, p, min));
                        }
                    }
                }
            }
        }
    }

    private static float[] reference(float[] l, float temp, int topK, float topP, float minP) {
        Integer[] order = new Integer[l.length];
        int n = 0;
        for (int i = 0; i < l.length; i++) if (l[i] > Float.NEGATIVE_INFINITY) order[n++] = i;
        Arrays.sort(order, 0, n, (a, b) -> Float.compare(l[b], l[a]));
        if (topK > 0) n = Math.min(n, topK);
        float[] probs = referenceSoftmax(l, order, n, 1f);
        if (topP < 1f) {
            double cum = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cum += probs[i];
                if (cum >= topP) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (minP > 0f) {
            float threshold = probs[0] * minP;
            int keep = 1;
            while (keep < n && probs[keep] >= threshold) keep++;
            n = keep;
        }
        probs = referenceSoftmax(l, order, n, temp);
        float[] dense = new float[l.length];
        for (int i = 0; i < n; i++) dense[order[i]] = probs[i];
        return dense;
    }

    private static float[] referenceSoftmax(float[] l, Integer[] order, int n, float temperature) {
        float[] probs = new float[n];
        float max = l[order[0]];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp((l[order[i]] - max) / temperature);
            probs[i] = (float) e;
            sum += e;
        }
        for (int i = 0; i < n; i++) probs[i] = (float) (probs[i] / sum);
        return probs;
    }
}
