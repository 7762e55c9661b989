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
    private final int[] order;
    private final int[] sorted;
    private final float[] probs;

    public Sampler(SamplingParams params, int vocab) {
        this.p = params;
        this.vocab = vocab;
        long seed = params.seed() >= 0 ? params.seed() : new SplittableRandom().nextLong() & Long.MAX_VALUE;
        this.random = new SplittableRandom(seed);
        this.work = new float[vocab];
        this.order = new int[vocab];
        this.sorted = new int[vocab];
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
        return sample(logits, off, history, historyLen, null);
    }

    /**
     * {@link #sample} among the tokens whose bit is set in {@code allowed} (null: all), as llama.cpp applies a
     * grammar: the others get -inf after bias and penalties, before truncation. When every allowed logit is -inf the
     * first allowed token is chosen.
     */
    public int sample(float[] logits, int off, int[] history, int historyLen, long[] allowed) {
        System.arraycopy(logits, off, work, 0, vocab);
        applyBiasAndPenalties(work, history, historyLen);
        if (allowed != null) {
            int first = mask(work, allowed);
            if (first >= 0 && work[argmax(work)] == Float.NEGATIVE_INFINITY) return first;
        }
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
        distribution(logits, off, history, historyLen, dense, null);
    }

    /** {@link #distribution} among the tokens {@code allowed} (null: all), as {@link #sample} with a mask draws. */
    public void distribution(float[] logits, int off, int[] history, int historyLen, float[] dense, long[] allowed) {
        System.arraycopy(logits, off, work, 0, vocab);
        applyBiasAndPenalties(work, history, historyLen);
        Arrays.fill(dense, 0, vocab, 0f);
        if (allowed != null) {
            int first = mask(work, allowed);
            if (first >= 0 && work[argmax(work)] == Float.NEGATIVE_INFINITY) {
                dense[first] = 1f;
                return;
            }
        }
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

    /** Sets the logits of tokens outside {@code allowed} to -inf; returns the first allowed token (-1: none). */
    private int mask(float[] l, long[] allowed) {
        int first = -1;
        for (int w = 0; w * 64 < vocab; w++) {
            long bits = allowed[w];
            if (bits != 0 && first < 0) first = w * 64 + Long.numberOfTrailingZeros(bits);
            if (bits == -1L) continue;
            int end = Math.min(vocab, w * 64 + 64);
            for (int i = w * 64; i < end; i++) {
                if ((bits >>> (i & 63) & 1L) == 0) l[i] = Float.NEGATIVE_INFINITY;
            }
        }
        return first;
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
     * Applies top-k, top-p and min-p (at temperature 1, as llama.cpp) to the finite candidates and leaves the kept
     * candidates' final probabilities (after temperature) in {@code probs[0 .. n)}, tokens in {@code order}; returns
     * n (0 when every logit is -inf). The kept candidates are those of llama.cpp's sorted order (descending logit,
     * ties by id), found by popping a heap only as far as the truncation needs, so the work is linear in the
     * vocabulary plus the kept count times its logarithm; without truncation nothing is sorted.
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
        boolean topK = p.topK() > 0 && p.topK() < n;
        if (!topK && p.topP() >= 1f && p.minP() <= 0f) {
            softmax(l, n, p.temperature(), max(l, n));
            return n;
        }
        float max;
        int size = n;
        double sum = 0;
        if (topK) {
            n = selectTopK(l, n, p.topK());
            max = l[order[0]];
            for (int i = 0; i < n; i++) sum += Math.exp(l[order[i]] - max);
        } else {
            heapify(l, n);
            max = l[order[0]];
            for (int i = 0; i < n; i++) sum += Math.exp(l[order[i]] - max);
        }
        // walk the candidates in sorted order until top-p or min-p ends the prefix
        float threshold = (float) (1f / sum) * p.minP();
        double cum = 0;
        int keep = 0;
        while (keep < n) {
            int t = topK ? order[keep] : pop(l, size--);
            float prob = (float) ((float) Math.exp(l[t] - max) / sum);
            if (keep > 0 && p.minP() > 0f && prob < threshold) break;
            sorted[keep++] = t;
            cum += prob;
            if (p.topP() < 1f && cum >= p.topP()) break;
        }
        System.arraycopy(sorted, 0, order, 0, keep);
        softmax(l, keep, p.temperature(), max);
        return keep;
    }

    /**
     * Leaves the first k of the n candidates in order[0 .. k), sorted: a min-heap of the best k so far (in
     * {@code sorted}, root = the one that comes last) replaces its root whenever a better candidate comes.
     */
    private int selectTopK(float[] l, int n, int k) {
        int size = 0;
        for (int i = 0; i < n; i++) {
            int t = order[i];
            if (size < k) {
                int c = size++;
                while (c > 0 && before(l, sorted[(c - 1) / 2], t)) {
                    sorted[c] = sorted[(c - 1) / 2];
                    c = (c - 1) / 2;
                }
                sorted[c] = t;
            } else if (before(l, t, sorted[0])) {
                sinkLast(l, t, k);
            }
        }
        for (int i = k - 1; i >= 0; i--) {
            order[i] = sorted[0];
            sinkLast(l, sorted[i], i);
        }
        return k;
    }

    /** Puts {@code x} at the root of the min-heap sorted[0 .. n) and sinks it (the root is the latest in order). */
    private void sinkLast(float[] l, int x, int n) {
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && before(l, sorted[c], sorted[c + 1])) c++;
            if (!before(l, x, sorted[c])) break;
            sorted[i] = sorted[c];
            i = c;
        }
        sorted[i] = x;
    }

    private float max(float[] l, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, l[order[i]]);
        return max;
    }

    /** order[0 .. n) becomes a heap whose root is the largest logit (smallest id among equals). */
    private void heapify(float[] l, int n) {
        for (int i = n / 2 - 1; i >= 0; i--) siftDown(l, i, n);
    }

    /** Removes and returns the heap's root; the heap has {@code size} entries before. */
    private int pop(float[] l, int size) {
        int top = order[0];
        order[0] = order[size - 1];
        siftDown(l, 0, size - 1);
        return top;
    }

    private void siftDown(float[] l, int i, int n) {
        int x = order[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && before(l, order[c + 1], order[c])) c++;
            if (!before(l, order[c], x)) break;
            order[i] = order[c];
            i = c;
        }
        order[i] = x;
    }

    private static boolean before(float[] l, int a, int b) {
        return l[a] > l[b] || l[a] == l[b] && a < b;
    }

    /** probs[i] = softmax over the first n candidates of logit / temperature ({@code max}: their largest logit). */
    private void softmax(float[] l, int n, float temperature, float max) {
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
