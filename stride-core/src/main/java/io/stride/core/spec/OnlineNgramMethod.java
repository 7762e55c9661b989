package io.stride.core.spec;

import io.stride.core.sampling.SamplingParams;

/**
 * {@code ngram-online}, in the spirit of ADED: a table of token tri-grams learned from the model's own outputs
 * as it runs (shared by all requests, bounded memory). It proposes the most frequent follower of the last two
 * tokens, then of the new last two, and so on, plus the runner-up follower as an alternative first token.
 */
public final class OnlineNgramMethod implements DraftMethod {
    private final TrigramTable table;
    private final int minCount;

    public OnlineNgramMethod() {
        this(1 << 18, 2);
    }

    public OnlineNgramMethod(int maxPairs, int minCount) {
        this.table = new TrigramTable(maxPairs);
        this.minCount = Math.max(1, minCount);
    }

    @Override
    public String name() {
        return "ngram-online";
    }

    public TrigramTable table() {
        return table;
    }

    @Override
    public Drafter open(int[] prompt, SamplingParams sampling) {
        return new Session(prompt.length);
    }

    private final class Session implements Drafter {
        private int learned;
        private final int[] follow = new int[TrigramTable.WAYS];
        private final int[] counts = new int[TrigramTable.WAYS];

        Session(int promptLength) {
            this.learned = promptLength; // learn from the output only
        }

        @Override
        public void propose(int[] context, int length, int max, DraftTree tree, float[] hidden) {
            for (; learned < length; learned++) {
                if (learned >= 2) {
                    table.add(context[learned - 2], context[learned - 1], context[learned]);
                }
            }
            if (length < 2 || max <= 0) {
                return;
            }
            int n = table.followers(context[length - 2], context[length - 1], follow, counts);
            if (n == 0 || counts[0] < minCount) {
                return;
            }
            int alternative = n > 1 && counts[1] >= minCount ? follow[1] : -1;
            int a = context[length - 1];
            int b = follow[0];
            int node = tree.add(DraftTree.ROOT, b);
            if (alternative >= 0 && max > 1) {
                tree.add(DraftTree.ROOT, alternative);
            }
            while (tree.size() < max) {
                n = table.followers(a, b, follow, counts);
                if (n == 0 || counts[0] < minCount) {
                    break;
                }
                node = tree.add(node, follow[0]);
                a = b;
                b = follow[0];
            }
        }

        @Override
        public void finish(int[] context, int length) {
            propose(context, length, 0, new DraftTree(), null); // learn the tail
        }
    }
}
