package io.stride.core.kv.store;

import io.stride.core.kv.ZipOptions;

/**
 * One sequence's open block under ZipCache ({@link ZipArray}), in every layer: the key and value of each position it
 * has computed from the block's start b0 kept as q8_0 (so that the slots the block's closing chooses can be
 * upgraded), and the saliency row each of those tokens left ({@code row(p)[s]}: what the token at b0 + p paid the
 * block's offset s). Entry p is the position b0 + p: offsets 0..15 are the block, entries past them hold a
 * speculative step's draft nodes (stored at positions past the committed ones), which {@link #move} copies to their
 * offsets when they are accepted. An entry is written only by the token at its position, so one left by a token
 * that was later dropped is overwritten when the position is computed again.
 */
public final class ZipStage {
    private static final int BLOCK = ZipOptions.BLOCK;

    private final Q8Array[] keys, values;
    private final float[][] rows;
    private final int entries;
    /** positions [0, closedEnd) lie in closed blocks */
    private int closedEnd;

    /**
     * Staging for {@code layers} layers, keys and/or values, with room for {@code treeNodes} draft nodes past the block.
     */
    public ZipStage(int layers, int keyDim, int valueDim, boolean stageKeys, boolean stageValues, int treeNodes) {
        entries = BLOCK + treeNodes;
        keys = new Q8Array[layers];
        values = new Q8Array[layers];
        rows = new float[layers][entries * BLOCK];
        for (int l = 0; l < layers; l++) {
            keys[l] = stageKeys ? new Q8Array(false, entries, keyDim) : null;
            values[l] = stageValues ? new Q8Array(false, entries, valueDim) : null;
        }
    }

    /** Where the closed blocks end: positions before it lie in blocks whose upgrades are chosen. */
    public int closedEnd() {
        return closedEnd;
    }

    /** Notes that the blocks before position {@code end} are closed (or, lower, that the later ones were dropped). */
    public void setClosedEnd(int end) {
        this.closedEnd = end;
    }

    /** Entries: the block's 16 offsets and the draft nodes after them. */
    public int entries() {
        return entries;
    }

    /** Entry {@code e} of {@code layer} becomes row {@code row} of {@code k} and of {@code v} (q8_0 rows; parts that are not zip skipped). */
    public void copyFrom(int layer, int e, Q8Array k, Q8Array v, int row) {
        check(e);
        if (keys[layer] != null) {
            keys[layer].copyRowFrom(k, row, e);
        }
        if (values[layer] != null) {
            values[layer].copyRowFrom(v, row, e);
        }
    }

    /** Copies entry {@code from} (an accepted draft node) to entry {@code to} in every layer: key, value and row. */
    public void move(int from, int to) {
        check(from);
        check(to);
        for (int l = 0; l < rows.length; l++) {
            if (keys[l] != null) {
                keys[l].copy(from, to);
            }
            if (values[l] != null) {
                values[l].copy(from, to);
            }
            System.arraycopy(rows[l], BLOCK * from, rows[l], BLOCK * to, BLOCK);
        }
    }

    private void check(int e) {
        if (e < 0 || e >= entries) {
            throw new IllegalStateException("zip staging entry " + e + " outside 0 .. " + entries
                    + " (a draft tree larger than the staging the engine sized)");
        }
    }

    /** Layer {@code layer}'s staged keys (entry e in row e), or null when keys are not zip. */
    public Q8Array keys(int layer) {
        return keys[layer];
    }

    public Q8Array values(int layer) {
        return values[layer];
    }

    /** Layer {@code layer}'s saliency rows: {@code [16·e + s]} for entry e and block offset s. */
    public float[] rows(int layer) {
        return rows[layer];
    }

    /** Bytes held. */
    public long bytes() {
        long b = 0;
        for (int l = 0; l < keys.length; l++) {
            b += (keys[l] == null ? 0 : keys[l].bytes()) + (values[l] == null ? 0 : values[l].bytes()) + 4L * rows[l].length;
        }
        return b;
    }
}
