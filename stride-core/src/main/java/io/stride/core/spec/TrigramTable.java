package io.stride.core.spec;

import java.util.Arrays;

/**
 * Counts of which tokens followed each pair of tokens, keeping the {@link #WAYS} most frequent followers per
 * pair. Memory is bounded: at most {@code maxPairs} pairs; when full, all counts are halved and pairs whose
 * counts reach zero are dropped (old statistics fade, recent ones stay).
 */
public final class TrigramTable {
    public static final int WAYS = 4;
    private final int maxPairs;
    private long[] keys;
    private int[] slotOf;
    private int mask;
    private long[] pairKey;
    private int[] next;
    private int[] counts;
    private int pairs;

    public TrigramTable(int maxPairs) {
        if (maxPairs < 16) {
            throw new IllegalArgumentException("the n-gram table needs room for at least 16 pairs");
        }
        this.maxPairs = maxPairs;
        int size = Integer.highestOneBit(maxPairs * 2 - 1) << 1;
        keys = new long[size];
        slotOf = new int[size];
        mask = size - 1;
        Arrays.fill(keys, -1L);
        pairKey = new long[maxPairs];
        next = new int[maxPairs * WAYS];
        counts = new int[maxPairs * WAYS];
    }

    public int pairs() {
        return pairs;
    }

    public long memoryBytes() {
        return 12L * keys.length + 8L * pairKey.length + 8L * next.length;
    }

    /** Records that {@code c} followed {@code a, b}. */
    public void add(int a, int b, int c) {
        long key = key(a, b);
        int slot = lookup(key);
        if (slot < 0) {
            if (pairs == maxPairs) {
                age();
            }
            slot = pairs++;
            pairKey[slot] = key;
            Arrays.fill(next, slot * WAYS, slot * WAYS + WAYS, -1);
            Arrays.fill(counts, slot * WAYS, slot * WAYS + WAYS, 0);
            insert(key, slot);
        }
        int base = slot * WAYS;
        int weakest = base;
        for (int j = base; j < base + WAYS; j++) {
            if (next[j] == c) {
                counts[j]++;
                return;
            }
            if (counts[j] < counts[weakest]) weakest = j;
        }
        next[weakest] = c;
        counts[weakest] = 1;
    }

    /**
     * Followers of {@code a, b}, most frequent first, into {@code out} (with counts into {@code outCounts});
     * returns how many.
     */
    public int followers(int a, int b, int[] out, int[] outCounts) {
        int slot = lookup(key(a, b));
        if (slot < 0) {
            return 0;
        }
        int n = 0;
        int base = slot * WAYS;
        for (int j = base; j < base + WAYS; j++) {
            if (counts[j] <= 0) continue;
            int i = n++;
            while (i > 0 && outCounts[i - 1] < counts[j]) {
                out[i] = out[i - 1];
                outCounts[i] = outCounts[i - 1];
                i--;
            }
            out[i] = next[j];
            outCounts[i] = counts[j];
        }
        return n;
    }

    private void age() {
        int kept = 0;
        for (int s = 0; s < pairs; s++) {
            boolean any = false;
            for (int j = 0; j < WAYS; j++) {
                counts[s * WAYS + j] >>= 1;
                any |= counts[s * WAYS + j] > 0;
            }
            if (any) {
                pairKey[kept] = pairKey[s];
                System.arraycopy(next, s * WAYS, next, kept * WAYS, WAYS);
                System.arraycopy(counts, s * WAYS, counts, kept * WAYS, WAYS);
                kept++;
            }
        }
        if (kept == pairs) {
            kept = pairs / 2; // everything was still frequent: forget the older half
            System.arraycopy(pairKey, pairs - kept, pairKey, 0, kept);
            System.arraycopy(next, (pairs - kept) * WAYS, next, 0, kept * WAYS);
            System.arraycopy(counts, (pairs - kept) * WAYS, counts, 0, kept * WAYS);
        }
        pairs = kept;
        Arrays.fill(keys, -1L);
        for (int s = 0; s < pairs; s++) {
            insert(pairKey[s], s);
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private int hash(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    }

    private int lookup(long key) {
        for (int i = hash(key); ; i = (i + 1) & mask) {
            if (keys[i] == key) return slotOf[i];
            if (keys[i] == -1L) return -1;
        }
    }

    private void insert(long key, int slot) {
        int i = hash(key);
        while (keys[i] != -1L) i = (i + 1) & mask;
        keys[i] = key;
        slotOf[i] = slot;
    }
}
