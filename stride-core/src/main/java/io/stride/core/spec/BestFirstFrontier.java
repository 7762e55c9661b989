package io.stride.core.spec;

import java.util.Arrays;

/**
 * The open candidates of a draft tree grown best-first: each entry names a candidate (what it refers to is
 * the grower's business), the draft node it would hang under and its path probability. Small: a linear scan
 * finds the best, which beats a heap for the few dozen entries a draft has.
 */
final class BestFirstFrontier {
    private int size;
    private int[] refs = new int[64];
    private int[] parents = new int[64];
    private float[] probs = new float[64];
    private int ref;
    private int parent;
    private float prob;

    void clear() {
        size = 0;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void push(int candidate, int draftParent, float pathProbability) {
        if (size == refs.length) {
            refs = Arrays.copyOf(refs, size * 2);
            parents = Arrays.copyOf(parents, size * 2);
            probs = Arrays.copyOf(probs, size * 2);
        }
        refs[size] = candidate;
        parents[size] = draftParent;
        probs[size] = pathProbability;
        size++;
    }

    /** Removes the most probable entry; read it with {@link #ref()}, {@link #parent()}, {@link #prob()}. */
    void popBest() {
        int best = 0;
        for (int i = 1; i < size; i++) {
            if (probs[i] > probs[best]) best = i;
        }
        ref = refs[best];
        parent = parents[best];
        prob = probs[best];
        size--;
        refs[best] = refs[size];
        parents[best] = parents[size];
        probs[best] = probs[size];
    }

    int ref() {
        return ref;
    }

    int parent() {
        return parent;
    }

    float prob() {
        return prob;
    }
}
