package io.stride.core.sampling;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits, in llama.cpp's order: logit bias, repetition / frequency / presence
 * penalties, then greedy, or top-k, top-p, min-p, temperature and a seeded draw. One instance per sequence.
 */
public final class Sampler {
    private final SamplingParams p;
    private final SplittableRandom random;
    private final int vocab;
    private final float[] work;
    private final Integer[] order;
    private final float[] probs;

    public Sampler(SamplingParams params, int vocab) {
        this.p = params;
        this.vocab = vocab;
        long seed = params.seed() >= 0 ? params.seed() : new SplittableRandom().nextLong() & Long.MAX_VALUE;
        this.random = new SplittableRandom(seed);
        this.work = new float[vocab];
        this.order = new Integer[vocab];
        this.probs = new float[vocab];
    }

    public SamplingParams params() {
        return p;
    }

    /**
     * Chooses a token. {@code logits[off .. off+vocab)} are not modified.
     *
     * @param history the context so far (prompt and generated tokens), {@code historyLen} of them used
     */
    public int sample(float[] logits, int off, int[] history, int historyLen) {
        System.arraycopy(logits, off, work, 0, vocab);
        applyBiasAndPenalties(work, history, historyLen);
        if (p.greedy()) {
            return argmax(work);
        }
        return draw(work);
    }

    /**
     * Fills {@code dense[0 .. vocab)} with the probabilities {@link #sample} draws from for these logits and
     * history (one-hot at the argmax when greedy). Speculative verification uses it for exact rejection sampling.
     */
    public void distribution(float[] logits, int off, int[] history, int historyLen, float[] dense) {
        System.arraycopy(logits, off, work, 0, vocab);
        applyBiasAndPenalties(work, history, historyLen);
        Arrays.fill(dense, 0, vocab, 0f);
        if (p.greedy()) {
            dense[argmax(work)] = 1f;
            return;
        }
        int n = truncate(work);
        if (n == 0) {
            dense[argmax(work)] = 1f;
            return;
        }
        for (int i = 0; i < n; i++) {
            dense[order[i]] = probs[i];
        }
    }

    /** A uniform draw in [0, 1) from this sampler's seeded generator. */
    public double nextUniform() {
        return random.nextDouble();
    }

    /** Draws a token from non-negative weights {@code w[0 .. vocab)} summing to {@code total} (> 0). */
    public int drawFrom(float[] w, double total) {
        double u = random.nextDouble() * total;
        double cum = 0;
        int last = -1;
        for (int i = 0; i < vocab; i++) {
            if (w[i] > 0) {
                cum += w[i];
                last = i;
                if (u < cum) {
                    return i;
                }
            }
        }
        return last >= 0 ? last : argmax(w);
    }

    private void applyBiasAndPenalties(float[] l, int[] history, int historyLen) {
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
            int t = e.getKey();
            if (t >= 0 && t < vocab) {
                l[t] += e.getValue();
            }
        }
        boolean penalise = p.repeatPenalty() != 1f || p.frequencyPenalty() != 0f || p.presencePenalty() != 0f;
        if (!penalise || p.penaltyLastN() == 0 || historyLen == 0) {
            return;
        }
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = Math.max(0, historyLen - p.penaltyLastN()); i < historyLen; i++) {
            counts.merge(history[i], 1, Integer::sum);
        }
        for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
            int t = e.getKey();
            if (t < 0 || t >= vocab) {
                continue;
            }
            if (l[t] <= 0) {
                l[t] *= p.repeatPenalty();
            } else {
                l[t] /= p.repeatPenalty();
            }
            l[t] -= e.getValue() * p.frequencyPenalty() + p.presencePenalty();
        }
    }

    public static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    private int draw(float[] l) {
        int n = truncate(l);
        if (n == 0) {
            return argmax(l);
        }
        double u = random.nextDouble();
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += probs[i];
            if (u < cum) {
                return order[i];
            }
        }
        return order[n - 1];
    }

    /**
     * Sorts the finite candidates, applies top-k, top-p and min-p (at temperature 1, as llama.cpp) and leaves
     * the kept candidates' final probabilities (after temperature) in {@code probs[0 .. n)}, tokens in
     * {@code order}. Returns n (0 when every logit is -inf).
     */
    private int truncate(float[] l) {
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (l[i] > Float.NEGATIVE_INFINITY) {
                order[n++] = i;
            }
        }
        if (n == 0) {
            return 0;
        }
        Arrays.sort(order, 0, n, (a, b) -> Float.compare(l[b], l[a]));
        if (p.topK() > 0) {
            n = Math.min(n, p.topK());
        }
        softmax(l, n, 1f);
        if (p.topP() < 1f) {
            double cum = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cum += probs[i];
                if (cum >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (p.minP() > 0f) {
            float threshold = probs[0] * p.minP();
            int keep = 1;
            while (keep < n && probs[keep] >= threshold) {
                keep++;
            }
            n = keep;
        }
        softmax(l, n, p.temperature());
        return n;
    }

    /** probs[i] = softmax over the first n candidates (sorted descending) of logit / temperature. */
    private void softmax(float[] l, int n, float temperature) {
        float max = l[order[0]];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp((l[order[i]] - max) / temperature);
            probs[i] = (float) e;
            sum += e;
        }
        for (int i = 0; i < n; i++) {
            probs[i] = (float) (probs[i] / sum);
        }
    }
}
