package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.kernel.AttentionKernels;
import io.stride.core.tensor.kernel.LayerOps;
import io.stride.core.tensor.kernel.VectorMath;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Causal attention of a {@link Batch} over a {@link PagedKvCache}: every token's query heads over the cached keys and
 * values of the positions it sees (its sequence's context up to its position, or for a tree node its root's context
 * then its ancestors). A work item is one token and up to four query heads of one KV head's group, so the heads share
 * each key and value load. Keys of sixteen consecutive cache slots (one key tile) are scored sixteen per vector
 * operation; keys whose slots do not form a whole run of one tile (a block size not a multiple of 16, tree nodes)
 * are scored one by one with the same operations ({@link AttentionKernels#score}), so the result does not depend on
 * the batch, the block size or the kernel. Not thread-safe: one instance per {@link Transformer}.
 */
final class PagedAttention implements WorkerPool.Task {
    private static final int HEADS_PER_ITEM = 4;
    private static final int TILE = PagedKvCache.KEY_TILE;

    private final ModelConfig c;
    private final WorkerPool pool;
    private final int subgroups;
    private float[][] scores;
    private int[][] paths;
    private int[][] offsets;
    private int stride;
    /** the next unclaimed work item of the current {@link #run(int, Batch, PagedKvCache, float[], float[])}, counted from the last */
    private final AtomicInteger next = new AtomicInteger();

    private Batch batch;
    private PagedKvCache cache;
    private float[] keys, values, q, out;

    PagedAttention(ModelConfig c, WorkerPool pool) {
        this.c = c;
        this.pool = pool;
        int group = c.heads() / c.kvHeads();
        this.subgroups = (group + HEADS_PER_ITEM - 1) / HEADS_PER_ITEM;
        scores = new float[pool.size()][0];
        paths = new int[pool.size()][0];
        offsets = new int[pool.size()][0];
    }

    /** Attention of layer {@code layer}: queries {@code q[i·qDim ..]}, outputs into {@code out[(i·heads + h)·headDimV ..]}. */
    void run(int layer, Batch batch, PagedKvCache cache, float[] q, float[] out) {
        int n = batch.size();
        int maxLen = 0;
        for (int i = 0; i < n; i++) {
            maxLen = Math.max(maxLen, batch.position(i) + 1);
        }
        // rows of scores padded to whole pairs of tiles: the vector kernels write whole tiles
        int need = (maxLen + 2 * TILE - 1) / (2 * TILE) * (2 * TILE);
        if (stride < need) {
            stride = Math.max(need, 2 * stride);
            for (int wk = 0; wk < scores.length; wk++) {
                scores[wk] = new float[HEADS_PER_ITEM * stride];
                paths[wk] = new int[stride];
                offsets[wk] = new int[stride];
            }
        }
        this.batch = batch;
        this.cache = cache;
        this.keys = cache.keys(layer);
        this.values = cache.values(layer);
        this.q = q;
        this.out = out;
        next.set(0);
        try {
            long work = (long) n * c.heads() * maxLen * (c.headDimK() + c.headDimV());
            if (work < MatMul.SERIAL_WORK) {
                run(0, 1); // too little work to wake the other workers
            } else {
                pool.run(this);
            }
        } finally {
            this.batch = null;
            this.cache = null;
            this.keys = null;
            this.values = null;
            this.q = null;
            this.out = null;
        }
    }

    @Override
    public void run(int wk, int parts) {
        int perToken = c.kvHeads() * subgroups;
        int total = batch.size() * perToken;
        // items claimed a few at a time, last token first: later tokens of a prompt see more positions (a static split
        // gave the worker with the second half of a 512-token prompt three quarters of the work), and a core slowed
        // by other work takes fewer
        int claim = batch.size() >= 4 * parts ? perToken : 1;
        int[] slots = paths[wk];
        int lastToken = -1;
        int len = 0;
        for (int first = next.getAndAdd(claim); first < total; first = next.getAndAdd(claim)) {
            for (int k = first; k < Math.min(total, first + claim); k++) {
                int item = total - 1 - k;
                int i = item / perToken;
                int kvh = (item % perToken) / subgroups;
                int sub = item % subgroups;
                if (i != lastToken) {
                    len = slotsOf(i, slots);
                    lastToken = i;
                }
                int group = c.heads() / c.kvHeads();
                int h0 = kvh * group + sub * HEADS_PER_ITEM;
                int hs = Math.min(HEADS_PER_ITEM, group - sub * HEADS_PER_ITEM);
                heads(i, kvh, h0, hs, slots, len, wk);
            }
        }
    }

    /** Heads h0 .. h0+hs (hs ≤ 4, all of KV head kvh) of token i over the {@code len} cache slots in {@code slots}. */
    private void heads(int i, int kvh, int h0, int hs, int[] slots, int len, int wk) {
        float[] sc = scores[wk];
        int hdK = c.headDimK(), hdV = c.headDimV();
        float scale = (float) (1.0 / Math.sqrt(hdK));
        int qBase = i * c.qDim();
        int kAdd = kvh * hdK * TILE;
        boolean vectors = AttentionKernels.vectorTiles();
        int lanes = AttentionKernels.lanes();
        int pendingK = -1, pendingS = 0; // a vector column waiting for a partner
        for (int t0 = 0; t0 < len; t0 += TILE) {
            int count = Math.min(TILE, len - t0);
            if (vectors && wholeTileRun(slots, t0, count)) {
                int base = cache.keyIndex(slots[t0], 0) + kAdd;
                for (int col = 0; col < TILE; col += lanes) {
                    if (pendingK < 0) {
                        pendingK = base + col;
                        pendingS = t0 + col;
                    } else {
                        scorePair(qBase, h0, hs, hdK, pendingK, base + col, scale, sc, pendingS, t0 + col);
                        pendingK = -1;
                    }
                }
            } else {
                for (int t = t0; t < t0 + count; t++) {
                    int kOff = cache.keyIndex(slots[t], 0) + kAdd;
                    for (int h = 0; h < hs; h++) {
                        sc[h * stride + t] = AttentionKernels.score(q, qBase + (h0 + h) * hdK, hdK, keys, kOff, scale);
                    }
                }
            }
        }
        if (pendingK >= 0) {
            scorePair(qBase, h0, hs, hdK, pendingK, pendingK, scale, sc, pendingS, pendingS);
        }
        for (int h = 0; h < hs; h++) {
            LayerOps.softmax(sc, h * stride, len);
        }
        int[] offs = offsets[wk];
        for (int t = 0; t < len; t++) {
            offs[t] = slots[t] * c.kvDimV();
        }
        int vAdd = kvh * hdV;
        int o = (i * c.heads() + h0) * hdV;
        if (hs == 4 && hdV % (4 * lanes) == 0) {
            AttentionKernels.weightedSum4(out, o, o + hdV, o + 2 * hdV, o + 3 * hdV, sc, 0, stride, 2 * stride, 3 * stride,
                    values, offs, vAdd, len, hdV);
        } else {
            for (int h = 0; h < hs; h++) {
                LayerOps.weightedSum(out, o + h * hdV, sc, h * stride, values, offs, vAdd, len, hdV);
            }
        }
    }

    private void scorePair(int qBase, int h0, int hs, int hdK, int ka, int kb, float scale, float[] sc, int sa, int sb) {
        if (hs == 4) {
            int qa = qBase + h0 * hdK;
            AttentionKernels.scores4x2(q, qa, qa + hdK, qa + 2 * hdK, qa + 3 * hdK, hdK, keys, ka, kb, scale, sc, 0, stride, sa, sb);
        } else {
            for (int h = 0; h < hs; h++) {
                AttentionKernels.scores1x2(q, qBase + (h0 + h) * hdK, hdK, keys, ka, kb, scale, sc, h * stride, sa, sb);
            }
        }
    }

    /** Whether positions t0 .. t0+count see cache slots s, s+1, … from the start s of a key tile. */
    private static boolean wholeTileRun(int[] slots, int t0, int count) {
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

    /** Cache slots token i attends to, in order: its root's causal context, then its tree ancestors and itself. */
    private int slotsOf(int i, int[] slots) {
        KvSequence seq = batch.sequence(i);
        int extra = 0;
        int root = i;
        while (batch.parent(root) >= 0) {
            extra++;
            root = batch.parent(root);
        }
        int ctx = batch.position(root) + 1;
        for (int t = 0; t < ctx; t++) {
            slots[t] = seq.slot(t);
        }
        int at = i;
        for (int e = ctx + extra - 1; e >= ctx; e--) {
            slots[e] = seq.slot(batch.position(at));
            at = batch.parent(at);
        }
        return ctx + extra;
    }
}
