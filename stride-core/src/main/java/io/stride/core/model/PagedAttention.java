package io.stride.core.model;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.store.KvArray;
import io.stride.core.kv.store.ZipArray;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.kernel.AttentionKernels;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Causal attention of a {@link Batch} over a {@link PagedKvCache}: every token's query heads over the cached keys and
 * values of the positions it sees (its sequence's context up to its position, or for a tree node its root's context
 * then its ancestors). A work item is one token and all the query heads of one KV head, so the heads share each key
 * and value load (and each widening of a stored type): the kernels take four heads per call, the item calls them for
 * each four while a key tile or a chunk of values is in the first-level cache. Keys of sixteen consecutive cache slots (one key tile) are scored sixteen per vector
 * operation; keys whose slots do not form a whole run of one tile (a block size not a multiple of 16, tree nodes,
 * a sparse layer's positions) are widened into a tile sixteen at a time, or, fewer than four of them, scored one by
 * one with the same operations ({@link AttentionKernels#score}), so the result does not depend on the batch, the
 * block size or the kernel. Keys and values stored in another type than f32 are widened a tile of keys
 * or {@link #VALUE_CHUNK} values at a time into a per-worker scratch the same kernels then read; widening is exact
 * and per value and the value sums continue across chunks, so a token's output is again independent of the batch.
 *
 * <p>Split KV (FlashDecoding, LeanAttention): a token that sees more than {@link #SPLIT} positions attends to each run
 * of SPLIT positions (boundaries at multiples of SPLIT in its list of positions, so from its length alone) apart
 * (maximum, sum of exponentials, unnormalized weighted sum) and the runs are merged exactly in their order
 * ({@link SplitMerge}). Whether one worker computes all runs of an item or the runs go to different workers (when a
 * batch has fewer items than the workers can share evenly, as a single long decode has) changes nothing in the
 * arithmetic, so the bits stay those of the token alone.
 *
 * <p>Sparse decode tokens ({@link io.stride.core.sparse.SparseAttention}): in a selection layer such a token attends
 * densely in one run and its items' probabilities choose its positions ({@link SparseSelections}); in a sparse layer
 * it attends to the chosen positions only, in position order, with the same kernels. ShadowKV tokens attend through
 * {@link ShadowAttention} (their chunks chosen by landmarks, keys rebuilt from low-rank factors). Scores come from
 * {@link KeyScores}. ZipCache ({@link ZipArray}): blocks before a token's own are read with their upgrades, its own
 * block from q8_0 copies ({@link ZipPass}). Not thread-safe: one instance per {@link Transformer}.
 */
final class PagedAttention implements WorkerPool.Task {
    /** Query heads one kernel call scores and mixes together (an item loops over its KV head's groups of these). */
    private static final int HEADS_PER_CALL = 4;
    private static final int TILE = PagedKvCache.KEY_TILE;
    /** Cache slots whose values are widened at once (a scratch that stays in the first-level cache). */
    static final int VALUE_CHUNK = 32;
    /** Positions per run of split attention; a multiple of {@link #VALUE_CHUNK} and of two key tiles. */
    static final int SPLIT = 1024;
    /**
     * Whether runs may go to different workers ({@code -Dstride.split-kv=local} keeps each item's runs on one worker,
     * for measuring what spreading them gains; the bits are the same either way).
     */
    static volatile boolean spreadRuns = !"local".equals(System.getProperty("stride.split-kv"));

    private final ModelConfig c;
    private final WorkerPool pool;
    private final int group, subgroups;
    private final int part;
    private float[][] scores;
    private int[][] paths;
    private int[][] offsets;
    private final KeyScores keyScores;
    /** per worker: {@link #VALUE_CHUNK} widened value rows of one KV head */
    private final float[][] valueScratch;
    private final int[][] chunkOffsets;
    /** ZipCache's q8_0 copies of the pass (a token's own block is read from them or its sequence's staging) */
    private final ZipPass zipPass;
    /** per worker: the staging entries of a token's own block (ZipCache) */
    private final int[][] ownEntries;
    /** per worker: the runs of one item (local split) */
    private float[][] localRuns;
    /** the runs of every split item when runs go to different workers */
    private float[] sharedRuns = new float[0];
    /** per token: its visible positions, those it attends to in this layer, its runs, and (shared split) its first piece */
    private int[] lens = new int[0], counts = new int[0], runsOf = new int[0], firstPiece = new int[0];
    /** sparse attention's roles, chosen positions and scratch */
    private final SparseSelections sparse;
    private final ShadowAttention shadow;
    private boolean shared;
    private int stride;
    /** the next unclaimed work item of the current {@link #run(int, Batch, PagedKvCache, float[], float[])}, counted from the last */
    private final AtomicInteger next = new AtomicInteger();

    private Batch batch;
    private int layer;
    private PagedKvCache cache;
    private KvArray keyArray, valueArray;
    /** the arrays when stored as ZipCache's mixed precision, else null */
    private ZipArray zipKeys, zipValues;
    /** the arrays' floats when stored as f32 (read in place), else null */
    private float[] keys, values;
    private float[] q, out;

    PagedAttention(ModelConfig c, WorkerPool pool, Rope rope, ZipPass zipPass) {
        this.c = c;
        this.zipPass = zipPass;
        this.pool = pool;
        int group = c.heads() / c.kvHeads();
        this.group = group;
        this.subgroups = (group + HEADS_PER_CALL - 1) / HEADS_PER_CALL;
        this.part = SplitMerge.runFloats(group, c.headDimV());
        scores = new float[pool.size()][0];
        paths = new int[pool.size()][0];
        offsets = new int[pool.size()][0];
        localRuns = new float[pool.size()][0];
        sparse = new SparseSelections(pool.size());
        shadow = new ShadowAttention(c, pool, rope);
        keyScores = new KeyScores(c, pool.size());
        valueScratch = new float[pool.size()][VALUE_CHUNK * c.headDimV()];
        chunkOffsets = new int[pool.size()][VALUE_CHUNK];
        ownEntries = new int[pool.size()][TILE];
        for (int[] offs : chunkOffsets) {
            for (int r = 0; r < VALUE_CHUNK; r++) {
                offs[r] = r * c.headDimV();
            }
        }
    }

    private static int runs(int len) {
        return (len + SPLIT - 1) / SPLIT;
    }

    /** Attention of layer {@code layer}: queries {@code q[i·qDim ..]}, outputs into {@code out[(i·heads + h)·headDimV ..]}. */
    void run(int layer, Batch batch, PagedKvCache cache, float[] q, float[] out) {
        int n = batch.size();
        if (lens.length < n) {
            lens = new int[Math.max(n, 2 * lens.length)];
            counts = new int[lens.length];
            runsOf = new int[lens.length];
            firstPiece = new int[lens.length + 1];
        }
        int maxLen = 0, maxRuns = 1, maxSelect = 0;
        for (int i = 0; i < n; i++) {
            lens[i] = VisibleSlots.length(batch, i);
            maxLen = Math.max(maxLen, lens[i]);
        }
        sparse.plan(layer, batch, lens, c.kvHeads() * subgroups);
        for (int i = 0; i < n; i++) {
            counts[i] = sparse.attended(i, lens[i]);
            // a selecting token attends in one run: its choice needs the probabilities of all its positions at once;
            // a ShadowKV token's few positions are one run too
            boolean selects = sparse.role(i) == SparseSelections.SELECT;
            runsOf[i] = selects || sparse.role(i) == SparseSelections.SHADOW ? 1 : runs(counts[i]);
            maxRuns = Math.max(maxRuns, runsOf[i]);
            maxSelect = Math.max(maxSelect, selects ? lens[i] : 0);
        }
        sparse.grow((maxSelect + 2 * TILE - 1) / (2 * TILE) * (2 * TILE), group);
        // rows of scores padded to whole pairs of tiles: the vector kernels write whole tiles
        int need = (maxLen + 2 * TILE - 1) / (2 * TILE) * (2 * TILE);
        if (stride < need) {
            stride = Math.max(need, 2 * stride);
            for (int wk = 0; wk < scores.length; wk++) {
                scores[wk] = new float[group * Math.min(stride, SPLIT)];
                paths[wk] = new int[stride];
                offsets[wk] = new int[Math.min(stride, SPLIT)];
            }
        }
        int perToken = c.kvHeads();
        long work = (long) n * c.heads() * maxLen * (c.headDimK() + c.headDimV());
        boolean serial = work < MatMul.SERIAL_WORK;
        // runs go to different workers when the items alone are too few to share evenly
        shared = spreadRuns && !serial && maxRuns > 1 && (long) n * perToken < 4L * pool.size();
        if (shared) {
            firstPiece[0] = 0;
            for (int i = 0; i < n; i++) {
                firstPiece[i + 1] = firstPiece[i] + perToken * runsOf[i];
            }
            if (sharedRuns.length < firstPiece[n] * part) {
                sharedRuns = new float[firstPiece[n] * part];
            }
        } else if (localRuns[0].length < maxRuns * part && maxRuns > 1) {
            for (int wk = 0; wk < localRuns.length; wk++) {
                localRuns[wk] = new float[maxRuns * part];
            }
        }
        if (sparse.shadowing()) {
            shadow.prepare(layer, batch, sparse, cache, lens);
        }
        this.batch = batch;
        this.layer = layer;
        this.cache = cache;
        this.keyArray = cache.keys(layer);
        this.valueArray = cache.values(layer);
        this.keys = keyArray.floats();
        this.values = valueArray.floats();
        this.zipKeys = keyArray instanceof ZipArray z ? z : null;
        this.zipValues = valueArray instanceof ZipArray z ? z : null;
        this.q = q;
        this.out = out;
        next.set(0);
        try {
            if (serial) {
                run(0, 1); // too little work to wake the other workers
            } else {
                pool.run(this);
            }
            if (shared) {
                mergeShared(perToken);
            }
            sparse.finish(n);
        } finally {
            this.batch = null;
            this.cache = null;
            this.keyArray = null;
            this.valueArray = null;
            this.zipKeys = null;
            this.zipValues = null;
            this.keys = null;
            this.values = null;
            this.q = null;
            this.out = null;
        }
    }

    @Override
    public void run(int wk, int parts) {
        if (shared) {
            runPieces(wk);
            return;
        }
        int perToken = c.kvHeads();
        int total = batch.size() * perToken;
        // items claimed a few at a time, last token first: later tokens of a prompt see more positions (a static split
        // gave the worker with the second half of a 512-token prompt three quarters of the work), and a core slowed
        // by other work takes fewer
        int claim = batch.size() >= 4 * parts ? perToken : 1;
        int[] slots = paths[wk];
        int lastToken = -1;
        for (int first = next.getAndAdd(claim); first < total; first = next.getAndAdd(claim)) {
            for (int k = first; k < Math.min(total, first + claim); k++) {
                int item = total - 1 - k;
                int i = item / perToken;
                int kvh = item % perToken;
                if (i != lastToken) {
                    VisibleSlots.fill(batch, i, slots);
                    lastToken = i;
                }
                int h0 = kvh * group, hs = group;
                int o = (i * c.heads() + h0) * c.headDimV();
                if (sparse.role(i) >= SparseSelections.SELECT && sparse.role(i) != SparseSelections.SPARSE) {
                    special(i, kvh, h0, hs, slots, wk, o);
                    continue;
                }
                int[] list = sparse.role(i) == SparseSelections.SPARSE ? sparse.slots(i, slots, wk) : slots;
                int len = counts[i];
                int runs = runsOf[i];
                if (runs == 1) {
                    heads(i, kvh, h0, hs, list, 0, len, wk, true, out, o);
                } else {
                    float[] r = localRuns[wk];
                    for (int run = 0; run < runs; run++) {
                        heads(i, kvh, h0, hs, list, run * SPLIT, Math.min(len, (run + 1) * SPLIT), wk, false, r, run * part);
                    }
                    SplitMerge.merge(r, 0, runs, group, hs, c.headDimV(), out, o);
                }
            }
        }
    }

    /** Shared split: pieces (token, item, run) one at a time, last first; single-run tokens write their output. */
    private void runPieces(int wk) {
        int n = batch.size();
        int total = firstPiece[n];
        int[] slots = paths[wk];
        int lastToken = -1;
        for (int k = next.getAndIncrement(); k < total; k = next.getAndIncrement()) {
            int piece = total - 1 - k;
            int i = 0;
            while (firstPiece[i + 1] <= piece) {
                i++;
            }
            int runs = runsOf[i];
            int r = piece - firstPiece[i];
            int item = r / runs, run = r % runs;
            int kvh = item;
            if (i != lastToken) {
                VisibleSlots.fill(batch, i, slots);
                lastToken = i;
            }
            int h0 = kvh * group, hs = group;
            if (sparse.role(i) >= SparseSelections.SELECT && sparse.role(i) != SparseSelections.SPARSE) {
                special(i, kvh, h0, hs, slots, wk, (i * c.heads() + h0) * c.headDimV());
                continue;
            }
            int[] list = sparse.role(i) == SparseSelections.SPARSE ? sparse.slots(i, slots, wk) : slots;
            if (runs == 1) {
                heads(i, kvh, h0, hs, list, 0, counts[i], wk, true, out, (i * c.heads() + h0) * c.headDimV());
            } else {
                heads(i, kvh, h0, hs, list, run * SPLIT, Math.min(counts[i], (run + 1) * SPLIT), wk, false, sharedRuns,
                        (firstPiece[i] + r) * part);
            }
        }
    }

    /** Merges the runs the workers left in {@link #sharedRuns}, item by item, in run order. */
    private void mergeShared(int perToken) {
        for (int i = 0; i < batch.size(); i++) {
            int runs = runsOf[i];
            if (runs == 1) {
                continue;
            }
            for (int kvh = 0; kvh < perToken; kvh++) {
                SplitMerge.merge(sharedRuns, (firstPiece[i] + kvh * runs) * part, runs, group, group, c.headDimV(), out,
                        (i * c.heads() + kvh * group) * c.headDimV());
            }
        }
    }

    /**
     * A selection layer's item (dense attention over all of token i's positions in one run, then its choice) or a
     * ShadowKV item.
     */
    private void special(int i, int kvh, int h0, int hs, int[] slots, int wk, int o) {
        if (sparse.role(i) == SparseSelections.SHADOW) {
            shadow.item(layer, batch, i, kvh, slots, lens[i], wk, cache, q, out, o);
            return;
        }
        float[] sc = sparse.scores(wk);
        int sstride = sc.length / group;
        int len = lens[i];
        keyScores.score(q, keys, keyArray, null, 0, null, null, null, cache, i, kvh, h0, hs, slots, 0, len, wk, sc, sstride);
        SplitMerge.weigh(group, c.headDimV(), hs, len, sc, sstride, true, out, o);
        mixValues(kvh, hs, slots, 0, len, 0, null, null, wk, sc, sstride, out, o);
        // the choice sums rows of at most four heads (one per kernel call), in head order
        for (int sub = 0; sub < subgroups; sub++) {
            int h = sub * HEADS_PER_CALL;
            sparse.keep(i, kvh * subgroups + sub, sc, h * sstride, sstride, Math.min(HEADS_PER_CALL, hs - h), len);
        }
    }

    /**
     * Heads h0 .. h0+hs (all the query heads of KV head kvh, so its keys and values are read once) of token i over its visible positions {@code from .. to} (cache
     * slots {@code slots[from ..]}). {@code normalize}: the softmax-weighted sums into {@code y[yo + h·hdV ..]};
     * else one run of split attention into {@code y[yo ..]} as {@link SplitMerge} lays it out.
     */
    private void heads(int i, int kvh, int h0, int hs, int[] slots, int from, int to, int wk, boolean normalize, float[] y, int yo) {
        // three calls, not one body: a method holding every kernel inlined grows past what C2 compiles with its
        // vector intrinsics, and the vectors are then allocated
        float[] sc = scores[wk];
        int sstride = sc.length / group;
        // ZipCache: the blocks before the token's own are closed and read with their upgrades, its own block from the
        // sequence's q8_0 staging
        int upTo = 0;
        KvArray ownK = null, ownV = null;
        if (zipKeys != null || zipValues != null) {
            upTo = batch.ropePosition(i) / TILE * TILE;
            ownK = batch.sequence(i).zipStage().keys(layer);
            ownV = batch.sequence(i).zipStage().values(layer);
            zipPass.ownEntries(batch, i, upTo, ownEntries[wk]);
        }
        keyScores.score(q, keys, keyArray, zipKeys, upTo, zipPass, ownK, ownEntries[wk], cache, i, kvh, h0, hs, slots, from, to, wk, sc, sstride);
        SplitMerge.weigh(group, c.headDimV(), hs, to - from, sc, sstride, normalize, y, yo);
        mixValues(kvh, hs, slots, from, to, upTo, ownV, ownEntries[wk], wk, sc, sstride, y, yo);
    }

    /**
     * The weighted sums of the values of positions from .. to into {@code y[yo + h·hdV ..]} (ZipCache values: those
     * before {@code upTo} with their block's upgrades, the others from the staging {@code own} as {@link KeyScores#score}).
     */
    private void mixValues(int kvh, int hs, int[] slots, int from, int to, int upTo, KvArray own, int[] entries, int wk, float[] sc,
                           int sstride, float[] y, int yo) {
        int hdV = c.headDimV();
        int len = to - from;
        boolean vector4 = hdV % (4 * AttentionKernels.lanes()) == 0;
        if (values != null) {
            int[] offs = offsets[wk];
            for (int t = from; t < to; t++) {
                offs[t - from] = slots[t] * c.kvDimV();
            }
            for (int h = 0; h < hs; h += HEADS_PER_CALL) {
                int m = Math.min(HEADS_PER_CALL, hs - h);
                AttentionKernels.mix(vector4 && m == 4, m, y, yo + h * hdV, hdV, sc, sstride, h * sstride, values, offs,
                        kvh * hdV, len, false);
            }
            return;
        }
        float[] vw = valueScratch[wk];
        for (int c0 = from; c0 < to; c0 += VALUE_CHUNK) {
            int n = Math.min(VALUE_CHUNK, to - c0);
            valueArray.widenRows(slots, c0, n, kvh * hdV, hdV, vw, 0);
            if (zipValues != null && c0 < upTo) {
                zipValues.upgradeRows(slots, c0, Math.min(n, upTo - c0), kvh * hdV, hdV, vw, 0);
            }
            for (int r = Math.max(c0, upTo); own != null && r < c0 + n; r++) {
                zipPass.widenValue(own, entries[r - upTo], kvh * hdV, hdV, vw, (r - c0) * hdV);
            }
            // every query head of the KV head mixes the widened rows while they are in the first-level cache
            for (int h = 0; h < hs; h += HEADS_PER_CALL) {
                int m = Math.min(HEADS_PER_CALL, hs - h);
                AttentionKernels.mix(vector4 && m == 4, m, y, yo + h * hdV, hdV, sc, sstride, h * sstride + c0 - from, vw,
                        chunkOffsets[wk], 0, n, c0 > from);
            }
        }
    }

}
