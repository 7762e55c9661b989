package io.stride.core.diffusion;

/**
 * Picks the token of one masked position from its logits and scores how sure the model is of it.
 *
 * <p>Temperature 0 is greedy: the most probable token (ties: the lower id), scored on the full softmax. A positive
 * temperature runs llama-diffusion-cli's sampler chain step for step (top-k, then top-p, then temperature, then a draw
 * from the remaining candidates with {@link Mt19937}), so a seeded run picks llama.cpp's tokens; the scores are then
 * computed on the chain's candidates, as llama.cpp does. Reused for every position: no allocation per call.
 */
final class TokenChooser {
    private final int vocab;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final Mt19937 rng;
    private final int[] ids;
    private final float[] logit, prob, prob2;
    private final long[] keys;
    private int size;
    private boolean sorted;
    private float probability, margin, negEntropy, logitGap;

    TokenChooser(int vocab, float temperature, int topK, float topP, long seed) {
        this.vocab = vocab;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.rng = new Mt19937(seed);
        ids = new int[vocab];
        logit = new float[vocab];
        prob = new float[vocab];
        prob2 = new float[vocab];
        keys = new long[vocab];
    }

    /** The probability of the chosen token. */
    float probability() {
        return probability;
    }

    /** Probability of the most probable token minus the runner-up's (the only candidate: its probability). */
    float margin() {
        return margin;
    }

    /** Σ p·log p over the candidates: 0 for a certain position, more negative the less sure. */
    float negEntropy() {
        return negEntropy;
    }

    /** Logit of the most probable token minus the runner-up's, on the raw logits. */
    float logitGap() {
        return logitGap;
    }

    /** Chooses a token from {@code logits[off, off + vocab)}. */
    int choose(float[] logits, int off) {
        rawGap(logits, off);
        return temperature == 0 ? greedy(logits, off) : sample(logits, off);
    }

    private void rawGap(float[] l, int off) {
        float a = Float.NEGATIVE_INFINITY, b = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float x = l[off + i];
            if (x > a) {
                b = a;
                a = x;
            } else if (x > b) {
                b = x;
            }
        }
        logitGap = a - b;
    }

    private int greedy(float[] l, int off) {
        int best = 0;
        float max = l[off];
        for (int i = 1; i < vocab; i++) {
            if (l[off + i] > max) {
                max = l[off + i];
                best = i;
            }
        }
        double sum = 0, weighted = 0, second = 0;
        for (int i = 0; i < vocab; i++) {
            double d = l[off + i] - max;
            double e = Math.exp(d);
            sum += e;
            weighted += e * d;
            if (i != best && e > second) {
                second = e;
            }
        }
        probability = (float) (1 / sum);
        margin = (float) ((1 - second) / sum);
        negEntropy = (float) (weighted / sum - Math.log(sum)); // Σ p log p with p = e / sum
        return best;
    }

    private int sample(float[] l, int off) {
        size = vocab;
        sorted = false;
        for (int i = 0; i < vocab; i++) {
            ids[i] = i;
            logit[i] = l[off + i];
        }
        if (topK > 0) {
            keepTop(Math.min(topK, vocab));
        }
        if (topP < 1f) {
            topP();
        }
        for (int i = 0; i < size; i++) {
            logit[i] /= temperature;
        }
        int selected = draw();
        probability = prob[selected];
        float p0 = sorted ? prob[0] : maxProb(-1), p1 = size < 2 ? 0 : sorted ? prob[1] : maxProb(indexOfMax());
        margin = size < 2 ? p0 : p0 - p1;
        float h = 0;
        for (int i = 0; i < size; i++) {
            h += prob[i] * (float) Math.log(prob[i] + 1e-10f);
        }
        negEntropy = h;
        return ids[selected];
    }

    /** The top {@code k} candidates, sorted by logit descending (ties: lower id first), probabilities carried along. */
    private void keepTop(int k) {
        if (k * 32 >= size) {
            for (int i = 0; i < size; i++) {
                keys[i] = key(logit[i], i);
            }
            java.util.Arrays.sort(keys, 0, size);
        } else {
            int n = 0; // keys[0, n): the best so far, ascending
            for (int i = 0; i < size; i++) {
                long key = key(logit[i], i);
                if (n == k && key >= keys[k - 1]) {
                    continue;
                }
                int at = java.util.Arrays.binarySearch(keys, 0, n, key);
                at = at < 0 ? -at - 1 : at;
                int move = Math.min(n, k - 1) - at;
                System.arraycopy(keys, at, keys, at + 1, move);
                keys[at] = key;
                n = Math.min(n + 1, k);
            }
        }
        // keys hold candidate indices: gather ids, logits and probabilities in the new order
        for (int i = 0; i < k; i++) {
            int from = (int) keys[i];
            prob2[i] = prob[from];
            keys[i] = ((long) ids[from] << 32) | (Float.floatToRawIntBits(logit[from]) & 0xffffffffL);
        }
        for (int i = 0; i < k; i++) {
            ids[i] = (int) (keys[i] >>> 32);
            logit[i] = Float.intBitsToFloat((int) keys[i]);
            prob[i] = prob2[i];
        }
        size = k;
        sorted = true;
    }

    /** llama.cpp's top-p: softmax in float, candidates by logit descending, keep until the running sum reaches p. */
    private void topP() {
        softmaxFloat();
        if (!sorted) {
            keepTop(size);
        }
        float cum = 0;
        int last = size;
        for (int i = 0; i < size; i++) {
            cum += prob[i];
            if (cum >= topP) {
                last = i + 1;
                break;
            }
        }
        size = last;
    }

    private void softmaxFloat() {
        float max = logit[0];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, logit[i]);
        }
        float sum = 0;
        for (int i = 0; i < size; i++) {
            prob[i] = (float) Math.exp(logit[i] - max);
            sum += prob[i];
        }
        for (int i = 0; i < size; i++) {
            prob[i] /= sum;
        }
    }

    /** llama.cpp's dist sampler: one uniform double, the first candidate whose running sum reaches it. */
    private int draw() {
        double u = rng.nextDouble();
        if (size == 1) {
            prob[0] = 1f;
            return 0;
        }
        float max = logit[0];
        if (!sorted) {
            for (int i = 1; i < size; i++) {
                max = Math.max(max, logit[i]);
            }
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            prob[i] = (float) Math.exp(logit[i] - max);
            sum += prob[i];
        }
        double target = sum * u, run = 0;
        int selected = -1;
        for (int i = 0; i < size; i++) {
            if (selected < 0) {
                run += prob[i];
                if (run >= target) {
                    selected = i;
                }
            }
            prob[i] = (float) (prob[i] / sum);
        }
        return selected < 0 ? size - 1 : selected;
    }

    private int indexOfMax() {
        int best = 0;
        for (int i = 1; i < size; i++) {
            if (prob[i] > prob[best]) best = i;
        }
        return best;
    }

    /** The largest candidate probability, skipping index {@code skip}. */
    private float maxProb(int skip) {
        float m = 0;
        for (int i = 0; i < size; i++) {
            if (i != skip) m = Math.max(m, prob[i]);
        }
        return m;
    }

    /** A key that sorts ascending as (value descending, index ascending): llama.cpp's order for candidates and positions. */
    static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed-int order = float order
        return ((long) ~ordered << 32) | (id & 0xffffffffL);
    }
}
