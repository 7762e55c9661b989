package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ZipOptions;
import io.stride.core.kv.store.KvArray;
import io.stride.core.kv.store.Q8Array;
import io.stride.core.kv.store.ZipStage;

/**
 * ZipCache's q8_0 copies of one layer of a forward pass: every token's key and value as q8_0, row i for batch token i.
 * A token reads its own block at q8_0 (KIVI's full-precision recent window, here the block being filled): the
 * positions computed in this pass from these rows, the earlier ones from its sequence's {@link ZipStage}, which keeps
 * the block that was open when the pass began until {@link #finish} stores the block left open after it. Both hold the
 * same q8_0 of the same values, so a token reads the same bits whichever pass computed a position. Not thread-safe
 * while it is written ({@link #prepare}, {@link #finish}); read by the attention workers in between.
 */
final class ZipPass {
    private static final int BLOCK = ZipOptions.BLOCK;

    private final ModelConfig c;
    private Q8Array keys, values;
    /** per token: the first position and batch index of its sequence's run of plain tokens (for a draft node: its root's) */
    private int[] runPos = new int[0], runIndex = new int[0];
    /** per token: the first position of the last block its sequence reaches in this batch */
    private int[] lastBlock = new int[0];

    ZipPass(ModelConfig c) {
        this.c = c;
    }

    /**
     * Quantizes the pass's keys {@code k} (when the cache's keys are zip) and values {@code v} (when its values are) into
     * rows, and notes each token's run; the rows of a part that is not zip are never read.
     */
    void prepare(Batch batch, float[] k, float[] v, boolean zipKeys, boolean zipValues) {
        int n = batch.size();
        if (runPos.length < n) {
            int cap = Math.max(n, 2 * runPos.length);
            runPos = new int[cap];
            runIndex = new int[cap];
            lastBlock = new int[cap];
            keys = Q8Array.rows(cap, c.kvDimK());
            values = Q8Array.rows(cap, c.kvDimV());
        }
        int runStart = 0;
        for (int i = 0; i < n; i++) {
            if (zipKeys) keys.write(i, k, i * c.kvDimK());
            if (zipValues) values.write(i, v, i * c.kvDimV());
            if (batch.parent(i) >= 0) {
                int root = i;
                while (batch.parent(root) >= 0) root = batch.parent(root);
                runPos[i] = runPos[root];
                runIndex[i] = runIndex[root];
                continue;
            }
            boolean continues = i > 0 && batch.sequence(i - 1) == batch.sequence(i) && batch.parent(i - 1) < 0
                    && batch.position(i - 1) == batch.position(i) - 1;
            if (!continues) {
                runStart = i;
            }
            runPos[i] = batch.position(runStart);
            runIndex[i] = runStart;
        }
        // a sequence's tokens are consecutive in a batch: the last block is the one of its highest position
        for (int i = n - 1; i >= 0; i--) {
            boolean last = i == n - 1 || batch.sequence(i + 1) != batch.sequence(i);
            lastBlock[i] = last ? batch.ropePosition(i) / BLOCK * BLOCK : Math.max(lastBlock[i + 1], batch.ropePosition(i) / BLOCK * BLOCK);
        }
    }

    /**
     * Where token i reads its own block (from b0), by offset, into {@code entries}: e ≥ 0 is row e of its sequence's
     * staging, e < 0 row −1 − e of this pass. A draft node reads its ancestors (stored past the committed positions)
     * in place of the positions after its root.
     */
    void ownEntries(Batch batch, int i, int b0, int[] entries) {
        int off = batch.ropePosition(i) - b0;
        for (int s = 0; s <= off; s++) {
            entries[s] = row(i, b0 + s, s);
        }
        for (int at = i; batch.parent(at) >= 0; at = batch.parent(at)) {
            entries[batch.ropePosition(at) - b0] = -1 - at;
        }
    }

    /** Where the key or value of position {@code pos} (offset s of its block) read by token i is: see {@link #ownEntries}. */
    int row(int i, int pos, int s) {
        return pos >= runPos[i] ? -1 - (runIndex[i] + pos - runPos[i]) : s;
    }

    /** {@code staged}'s row e (e ≥ 0) or this pass's keys' row −1 − e, widened as {@link KvArray#widenKey}. */
    void widenKey(KvArray staged, int e, int j0, int n, float[] dst, int off, int stride) {
        if (e >= 0) staged.widenKey(e, j0, n, dst, off, stride);
        else keys.widenKey(-1 - e, j0, n, dst, off, stride);
    }

    /** The same for values. */
    void widenValue(KvArray staged, int e, int j0, int n, float[] dst, int off) {
        if (e >= 0) staged.widenKey(e, j0, n, dst, off, 1);
        else values.widenKey(-1 - e, j0, n, dst, off, 1);
    }

    /** The q8_0 source of entry e for keys ({@code forKeys}) or values: the staging's array or this pass's. */
    Q8Array source(ZipStage stage, int layer, int e, boolean forKeys) {
        if (e >= 0) return forKeys ? stage.keys(layer) : stage.values(layer);
        return forKeys ? keys : values;
    }

    /** Stores in each sequence's staging the rows of the block left open after this pass (draft nodes included). */
    void finish(int layer, Batch batch, PagedKvCache cache) {
        for (int i = 0; i < batch.size(); i++) {
            int b0 = batch.ropePosition(i) / BLOCK * BLOCK;
            if (b0 == lastBlock[i]) {
                KvSequence seq = batch.sequence(i);
                seq.zipStage().copyFrom(layer, batch.position(i) - b0, keys, values, i);
            }
        }
    }
}
