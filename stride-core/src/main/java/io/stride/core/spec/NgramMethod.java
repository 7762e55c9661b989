package io.stride.core.spec;

import io.stride.core.sampling.SamplingParams;

/**
 * Prompt lookup ({@code ngram}): find the most recent earlier occurrence of the context's last n tokens (n from
 * {@code maxN} down to {@code minN}) and propose what followed it, as a chain. Costs no model work; strong on
 * copy-heavy text such as code edits.
 */
public final class NgramMethod implements Drafter, DraftMethod {
    private final int minN;
    private final int maxN;
    private int[] chain = new int[16];

    public NgramMethod(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("need 1 <= minN <= maxN");
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    @Override
    public String name() {
        return "ngram";
    }

    /** Stateless per request: the method is its own drafter. */
    @Override
    public Drafter open(int[] prompt, SamplingParams sampling) {
        return new NgramMethod(minN, maxN);
    }

    @Override
    public void close() {
    }

    @Override
    public void propose(int[] context, int length, int max, DraftTree tree, float[] hidden) {
        if (chain.length < max) {
            chain = new int[max];
        }
        int k = propose(context, length, max, chain);
        tree.addChain(DraftTree.ROOT, chain, k);
    }

    /** The proposed chain of at most {@code max} tokens in {@code out}; returns its length. */
    public int propose(int[] context, int length, int max, int[] out) {
        for (int n = Math.min(maxN, length - 1); n >= minN; n--) {
            int tail = length - n;
            // scan backwards for the latest earlier match of context[tail .. length)
            for (int start = tail - 1; start >= 0; start--) {
                int k = 0;
                while (k < n && context[start + k] == context[tail + k]) {
                    k++;
                }
                if (k == n) {
                    int from = start + n;
                    int count = Math.min(max, length - from);
                    System.arraycopy(context, from, out, 0, count);
                    return count;
                }
            }
        }
        return 0;
    }
}
