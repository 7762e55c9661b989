package io.stride.core.engine;

import java.util.ArrayList;
import java.util.List;

/** Log-probabilities of the model's raw next-token distribution (before sampling parameters). */
final class Logprobs {
    private Logprobs() {}

    /** log p(token); {@code lseOut[0]} receives the log-sum-exp for reuse. */
    static float logprob(float[] l, int off, int n, int token, float[] lseOut) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, l[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(l[off + i] - max);
        float lse = (float) (max + Math.log(sum));
        lseOut[0] = lse;
        return l[off + token] - lse;
    }

    /** The k most likely tokens with their log-probabilities, most likely first. */
    static List<TokenEvent.TopLogprob> top(float[] l, int off, int n, int k, float lse) {
        if (k <= 0) {
            return List.of();
        }
        int[] best = new int[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            float v = l[off + i];
            if (size < k) {
                int j = size++;
                while (j > 0 && l[off + best[j - 1]] < v) {
                    best[j] = best[j - 1];
                    j--;
                }
                best[j] = i;
            } else if (v > l[off + best[k - 1]]) {
                int j = k - 1;
                while (j > 0 && l[off + best[j - 1]] < v) {
                    best[j] = best[j - 1];
                    j--;
                }
                best[j] = i;
            }
        }
        List<TokenEvent.TopLogprob> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) out.add(new TokenEvent.TopLogprob(best[i], l[off + best[i]] - lse));
        return out;
    }
}
