package io.stride.core.spec;


/**
 * One request's SuffixMethod drafter: keeps a suffix tree of the request's prompt and output up to date,
 * matches the context's longest continuing suffix there and in the method's global tree, and proposes the
 * better of the two draft trees.
 */
final class SuffixTreeDrafter implements Drafter {
    private static final int FANOUT = 4;
    private final SuffixMethod method;
    private final SuffixTrie local = new SuffixTrie(SuffixMethod.DEPTH);
    private final int[] active = new int[SuffixMethod.DEPTH + 1];
    private int activeCount;
    private int seen;
    private int promptLength = -1;
    private final DraftTree scratch = new DraftTree();
    /** best-first candidates: trie node, draft parent, path probability */
    private final BestFirstFrontier frontier = new BestFirstFrontier();
    private final int[] topNodes = new int[FANOUT];

    SuffixTreeDrafter(SuffixMethod method) {
        this.method = method;
        active[0] = local.root();
        activeCount = 1;
    }

    @Override
    public void propose(int[] context, int length, int max, DraftTree tree, float[] hidden) {
        if (promptLength < 0) {
            promptLength = length;
        }
        for (; seen < length; seen++) {
            activeCount = local.extend(active, activeCount, context[seen]);
        }
        double localScore = grow(local, context, length, max, tree);
        scratch.clear();
        double globalScore = grow(method.global(), context, length, max, scratch);
        if (globalScore > localScore) {
            tree.clear();
            for (int i = 0; i < scratch.size(); i++) {
                tree.setScore(tree.add(scratch.parent(i), scratch.token(i)), scratch.score(i));
            }
        }
    }

    @Override
    public void finish(int[] context, int length) {
        int start = promptLength < 0 ? length : Math.min(promptLength, length);
        int[] output = java.util.Arrays.copyOfRange(context, start, length);
        method.remember(output);
    }

    /** Grows a draft tree from the best suffix match in {@code trie}; returns its expected accepted tokens. */
    private double grow(SuffixTrie trie, int[] context, int length, int max, DraftTree tree) {
        int lo = 0, hi = Math.min(SuffixMethod.MAX_MATCH, length);
        int matchNode = -1;
        // longest m such that the last m tokens occur with a continuation (the property shrinks with m)
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            int n = trie.find(context, length - mid, length);
            if (n >= 0 && trie.firstChild(n) >= 0) {
                lo = mid;
                matchNode = n;
            } else {
                hi = mid - 1;
            }
        }
        if (lo == 0) {
            return 0;
        }
        if (matchNode < 0 || trie.depth(matchNode) != lo) {
            matchNode = trie.find(context, length - lo, length);
        }
        int budget = (int) Math.min(max, Math.ceil(method.alpha() * lo));
        frontier.clear();
        push(trie, matchNode, DraftTree.ROOT, 1f);
        double score = 0;
        while (tree.size() < budget && !frontier.isEmpty()) {
            frontier.popBest();
            if (frontier.prob() < method.minProbability()) {
                break;
            }
            int d = tree.add(frontier.parent(), trie.token(frontier.ref()));
            tree.setScore(d, frontier.prob());
            score += frontier.prob();
            push(trie, frontier.ref(), d, frontier.prob());
        }
        return score;
    }

    /** Adds the most frequent children of {@code node} to the frontier with their path probabilities. */
    private void push(SuffixTrie trie, int node, int draftNode, float pathProb) {
        int total = 0;
        int k = 0;
        for (int c = trie.firstChild(node); c >= 0; c = trie.nextSibling(c)) {
            total += trie.count(c);
            if (k < FANOUT) {
                topNodes[k++] = c;
            } else {
                int worst = 0;
                for (int i = 1; i < FANOUT; i++) if (trie.count(topNodes[i]) < trie.count(topNodes[worst])) worst = i;
                if (trie.count(c) > trie.count(topNodes[worst])) topNodes[worst] = c;
            }
        }
        for (int i = 0; i < k; i++) {
            frontier.push(topNodes[i], draftNode, pathProb * trie.count(topNodes[i]) / total);
        }
    }
}
