package io.stride.core.spec;

import java.util.Arrays;

/**
 * Candidate continuations as a token tree (a chain is a tree with one child per node). The root is implicit:
 * the last committed token. Nodes are numbered in insertion order, so a parent always precedes its
 * children; siblings never repeat a token. A node may carry the draft distribution its token was sampled
 * from (draft models under sampling), which the verifier needs for the Leviathan/Chen acceptance rule.
 */
public final class DraftTree {
    /** Parent index of the root's children. */
    public static final int ROOT = -1;

    private int size;
    private int[] tokens = new int[16];
    private int[] parents = new int[16];
    private int[] depths = new int[16];
    private float[][] draftProbs = new float[16][];
    private boolean[] hasProbs = new boolean[16];
    private float[] scores = new float[16];
    private int maxDepth;
    private int[] remap = new int[16];

    public void clear() {
        Arrays.fill(hasProbs, 0, size, false);
        size = 0;
        maxDepth = 0;
    }

    public int size() {
        return size;
    }

    public int token(int node) {
        return tokens[node];
    }

    public int parent(int node) {
        return parents[node];
    }

    /** 1 for children of the root. */
    public int depth(int node) {
        return depths[node];
    }

    public int maxDepth() {
        return maxDepth;
    }

    /** The child of {@code parent} (or of the root, {@link #ROOT}) holding {@code token}, or -1. */
    public int child(int parent, int token) {
        for (int i = parent + 1; i < size; i++) {
            if (parents[i] == parent && tokens[i] == token) {
                return i;
            }
        }
        return -1;
    }

    /** Adds {@code token} under {@code parent} (or returns the existing sibling with that token); returns its index. */
    public int add(int parent, int token) {
        if (parent < ROOT || parent >= size) {
            throw new IllegalArgumentException("parent " + parent + " is not a node of the tree");
        }
        int existing = child(parent, token);
        if (existing >= 0) {
            return existing;
        }
        if (size == tokens.length) {
            int n = size * 2;
            tokens = Arrays.copyOf(tokens, n);
            parents = Arrays.copyOf(parents, n);
            depths = Arrays.copyOf(depths, n);
            draftProbs = Arrays.copyOf(draftProbs, n);
            hasProbs = Arrays.copyOf(hasProbs, n);
            scores = Arrays.copyOf(scores, n);
        }
        scores[size] = Float.NaN;
        tokens[size] = token;
        parents[size] = parent;
        depths[size] = parent == ROOT ? 1 : depths[parent] + 1;
        maxDepth = Math.max(maxDepth, depths[size]);
        return size++;
    }

    /**
     * Records the drafter's estimate that the path from the root to {@code node} is accepted (NaN: no estimate).
     * Estimates must not grow along a path (a child is at most as likely as its parent).
     */
    public void setScore(int node, float probability) {
        scores[node] = probability;
    }

    public float score(int node) {
        return scores[node];
    }

    /** True when every node carries an acceptance estimate. */
    public boolean scored() {
        for (int i = 0; i < size; i++) {
            if (Float.isNaN(scores[i])) return false;
        }
        return size > 0;
    }

    /**
     * Keeps the {@code n} nodes with the highest estimates (a subtree, since estimates do not grow along paths;
     * ties keep the earlier node), preserving their order.
     */
    public void keepBest(int n) {
        if (n >= size) {
            return;
        }
        // the n-th highest score is the threshold; earlier nodes win ties
        float[] sorted = Arrays.copyOf(scores, size);
        Arrays.sort(sorted);
        float threshold = n == 0 ? Float.POSITIVE_INFINITY : sorted[size - n];
        int above = 0;
        for (int i = 0; i < size; i++) if (scores[i] > threshold) above++;
        int tiesLeft = n - above;
        boolean[] keep = new boolean[size];
        for (int i = 0; i < size; i++) {
            keep[i] = scores[i] > threshold || (scores[i] == threshold && tiesLeft-- > 0);
        }
        retain(keep); // never orphans a node: one whose parent goes goes too
    }

    /** Appends a chain of {@code n} tokens under {@code parent}; returns the last node (or parent when n = 0). */
    public int addChain(int parent, int[] chain, int n) {
        int at = parent;
        for (int i = 0; i < n; i++) {
            at = add(at, chain[i]);
        }
        return at;
    }

    /**
     * A buffer of {@code vocab} floats in which the drafter stores the distribution node's token was sampled
     * from; marks the node as carrying it.
     */
    public float[] draftProbabilities(int node, int vocab) {
        if (draftProbs[node] == null || draftProbs[node].length < vocab) {
            draftProbs[node] = new float[vocab];
        }
        hasProbs[node] = true;
        return draftProbs[node];
    }

    /** The node's draft distribution, or null when its token was proposed deterministically. */
    public float[] draftProbabilitiesOrNull(int node) {
        return hasProbs[node] ? draftProbs[node] : null;
    }

    /**
     * Keeps the nodes i with {@code keep[i]} (and a kept parent), in order; a dropped node's subtree goes with it.
     * Returns the number kept.
     */
    public int retain(boolean[] keep) {
        if (remap.length < size) {
            remap = new int[tokens.length];
        }
        int kept = 0;
        for (int i = 0; i < size; i++) {
            int p = parents[i];
            if (!keep[i] || (p != ROOT && remap[p] < 0)) {
                remap[i] = -1;
                hasProbs[i] = false;
                continue;
            }
            remap[i] = kept;
            tokens[kept] = tokens[i];
            parents[kept] = p == ROOT ? ROOT : remap[p];
            depths[kept] = depths[i];
            scores[kept] = scores[i];
            float[] q = draftProbs[i];
            draftProbs[i] = draftProbs[kept];
            draftProbs[kept] = q;
            boolean hq = hasProbs[i];
            hasProbs[i] = false;
            hasProbs[kept] = hq;
            kept++;
        }
        size = kept;
        maxDepth = 0;
        for (int i = 0; i < size; i++) maxDepth = Math.max(maxDepth, depths[i]);
        return kept;
    }

    /** Keeps the nodes at most {@code maxDepth} deep (none when it is below 1); returns the number kept. */
    public int keepDepth(int maxDepth) {
        if (keepScratch.length < size) {
            keepScratch = new boolean[tokens.length];
        }
        for (int i = 0; i < size; i++) {
            keepScratch[i] = depths[i] <= maxDepth;
        }
        return retain(keepScratch);
    }

    private boolean[] keepScratch = new boolean[16];

    /** Drops every node from index {@code n} on. */
    public void truncate(int n) {
        if (n < size) {
            Arrays.fill(hasProbs, n, size, false);
            size = n;
            maxDepth = 0;
            for (int i = 0; i < size; i++) {
                maxDepth = Math.max(maxDepth, depths[i]);
            }
        }
    }
}
