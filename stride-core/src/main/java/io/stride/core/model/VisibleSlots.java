package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;

/**
 * The cache slots a token of a {@link Batch} attends to, in order: its root's causal context (positions 0 .. the
 * root's), then its tree ancestors and itself (a plain token is its own root, with no ancestors). A bidirectional
 * token sees its sequence's first {@link Batch#visible} positions.
 */
final class VisibleSlots {
    private static final int TILE = PagedKvCache.KEY_TILE;

    private VisibleSlots() {}

    /** How many positions token i sees. */
    static int length(Batch batch, int i) {
        if (batch.visible(i) >= 0) {
            return batch.visible(i);
        }
        int extra = 0;
        int root = i;
        while (batch.parent(root) >= 0) {
            extra++;
            root = batch.parent(root);
        }
        return batch.position(root) + 1 + extra;
    }

    /** Writes the {@link #length} slots token i sees into {@code slots}. */
    static void fill(Batch batch, int i, int[] slots) {
        KvSequence seq = batch.sequence(i);
        int len = length(batch, i);
        int at = i;
        int ctx = len;
        while (batch.parent(at) >= 0) {
            slots[--ctx] = seq.slot(batch.position(at));
            at = batch.parent(at);
        }
        for (int t = 0; t < ctx; t++) {
            slots[t] = seq.slot(t);
        }
    }

    /** Whether positions t0 .. t0+count see cache slots s, s+1, … from the start s of a key tile. */
    static boolean wholeTileRun(int[] slots, int t0, int count) {
        int s = slots[t0];
        if (s % TILE != 0) {
            return false;
        }
        for (int j = 1; j < count; j++) {
            if (slots[t0 + j] != s + j) {
                return false;
            }
        }
        return true;
    }
}
