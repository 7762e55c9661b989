package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ShadowKeys;
import io.stride.core.kv.store.KvArray;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.ShadowKv;
import io.stride.core.sparse.SparseAttention;
import io.stride.core.sparse.TopK;
import io.stride.core.tensor.kernel.AttentionKernels;
import io.stride.core.tensor.kernel.LayerOps;

import java.util.Arrays;

/**
 * ShadowKV decode attention ({@link ShadowKv}) of one work item (a token, one KV head, up to four of its query heads):
 * <ol>
 *   <li>every query head of the KV head scores the landmarks of the prompt's non-outlier chunks; each head's scores
 *       go through a softmax and a chunk's weight is its largest probability over the heads (the paper's rule), and
 *       the budget's worth of chunks with the largest weights is chosen (ties to the lower chunk);</li>
 *   <li>the item attends, in position order, to the chosen chunks (keys rebuilt: factors · basis, RoPE at their
 *       position, the cache's Hadamard rotation), the outlier chunks and everything after the last whole chunk (keys
 *       as stored), one softmax over all of them, values as stored.</li>
 * </ol>
 * The choice is recomputed by each item of the KV head from the same inputs, so it is the same for all of them and
 * depends on the token's query and its sequence's {@link ShadowKeys} alone: a token's output does not depend on the
 * batch. Scratch grows in {@link #prepare} (engine thread) and is per worker, so attention allocates nothing.
 */
final class ShadowAttention {
    private static final int TILE = PagedKvCache.KEY_TILE;

    private final ModelConfig c;
    private final Rope rope;
    private final ShadowKeysBuilder builder;
    private final int group;
    /** RoPE angles of positions [0, ropeRows), {@code rope.half()} per position */
    private float[] cosT = new float[0], sinT = new float[0];
    private int ropeRows;
    /** per worker: landmark scores (group rows), chunk weights and their scratch, chosen chunks */
    private final float[][] sel, weights, topTmp;
    private final int[][] chosen;
    /** per worker: attended positions (indices into the visible slots), their value slots, where each key comes from
     *  ({@link #REBUILT}, {@link #CACHE}, or a row of the outlier keys) */
    private final int[][] entries, valueSlots, source;
    private static final int REBUILT = -1, CACHE = -2;
    /** per worker: scores (a row per query head of the group), two landmark tiles, the attended keys in tiles, one
     *  rebuilt key and its factors, widened values */
    private final float[][] sc, tiles, keyTiles, key, factor, vw;
    private final int[][] rowOffsets;

    ShadowAttention(ModelConfig c, WorkerPool pool, Rope rope) {
        int workers = pool.size();
        this.c = c;
        this.rope = rope;
        this.builder = new ShadowKeysBuilder(c, rope, pool);
        this.group = c.heads() / c.kvHeads();
        sel = new float[workers][0];
        weights = new float[workers][0];
        topTmp = new float[workers][0];
        chosen = new int[workers][0];
        entries = new int[workers][0];
        valueSlots = new int[workers][0];
        source = new int[workers][0];
        sc = new float[workers][0];
        tiles = new float[workers][2 * TILE * c.headDimK()];
        keyTiles = new float[workers][0];
        key = new float[workers][c.headDimK()];
        factor = new float[workers][0];
        vw = new float[workers][PagedAttention.VALUE_CHUNK * c.headDimV()];
        rowOffsets = new int[workers][PagedAttention.VALUE_CHUNK];
        for (int[] offs : rowOffsets) {
            for (int r = 0; r < offs.length; r++) {
                offs[r] = r * c.headDimV();
            }
        }
    }

    /**
     * Before layer {@code layer}'s attention: builds the layer's low-rank keys of every sequence with a ShadowKV token
     * that lacks them, and grows the scratch for the batch.
     */
    void prepare(int layer, Batch batch, SparseSelections sparse, PagedKvCache cache, int[] lens) {
        int kRot = cache.config().keyRotation(c.headDimK());
        int maxChunks = 0, maxCount = 0, maxRank = 0, maxPrompt = 0, maxPick = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (sparse.role(i) != SparseSelections.SHADOW) {
                continue;
            }
            SparseAttention sa = batch.sparse(i);
            ShadowKv sk = sa.shadow();
            KvSequence seq = batch.sequence(i);
            ShadowKeys keys = seq.shadowKeys();
            if (keys == null) {
                int from = seq.sparseFrom();
                keys = new ShadowKeys(c.layers(), from, sk.rankFor(c.kvDimK()), sk.chunk(), sk.chunks(from), sk.outliers(),
                        c.kvDimK());
                seq.setShadowKeys(keys);
            }
            if (!keys.built(layer)) {
                builder.build(keys, layer, cache, seq, kRot);
            }
            int pick = sa.budget() / keys.chunk();
            maxChunks = Math.max(maxChunks, keys.chunks());
            maxPick = Math.max(maxPick, pick);
            maxCount = Math.max(maxCount, (pick + keys.outlierCount()) * keys.chunk() + lens[i] - keys.chunks() * keys.chunk());
            maxRank = Math.max(maxRank, keys.rank());
            maxPrompt = Math.max(maxPrompt, keys.promptLength());
        }
        int half = rope.half();
        if (ropeRows < maxPrompt) {
            int rows = Math.max(maxPrompt, 2 * ropeRows);
            cosT = Arrays.copyOf(cosT, rows * half);
            sinT = Arrays.copyOf(sinT, rows * half);
            for (int p = ropeRows; p < rows; p++) {
                rope.angles(p, cosT, sinT, p * half);
            }
            ropeRows = rows;
        }
        int chunksPad = (maxChunks + 2 * TILE - 1) / (2 * TILE) * (2 * TILE);
        int countPad = (maxCount + 2 * TILE - 1) / (2 * TILE) * (2 * TILE);
        for (int wk = 0; wk < sel.length; wk++) {
            if (sel[wk].length < group * chunksPad) {
                sel[wk] = new float[group * chunksPad];
                weights[wk] = new float[chunksPad];
                topTmp[wk] = new float[chunksPad];
            }
            if (chosen[wk].length < maxPick) {
                chosen[wk] = new int[maxPick];
            }
            if (entries[wk].length < countPad) {
                entries[wk] = new int[countPad];
                valueSlots[wk] = new int[countPad];
                source[wk] = new int[countPad];
                sc[wk] = new float[group * countPad];
                keyTiles[wk] = new float[countPad * c.headDimK()];
            }
            if (factor[wk].length < maxRank) {
                factor[wk] = new float[maxRank];
            }
        }
    }

    /**
     * Every query head of KV head kvh of token i (queries {@code q}, visible slots {@code slots}, {@code len} of them)
     * into {@code out[o + h·headDimV ..]}: one item per KV head, so the choice and the rebuilt keys serve all of its
     * heads. Reads the cache's keys of positions after the last chunk only.
     */
    void item(int layer, Batch batch, int i, int kvh, int[] slots, int len, int wk, PagedKvCache cache, float[] q, float[] out, int o) {
        KvArray values = cache.values(layer);
        int kRot = cache.config().keyRotation(c.headDimK());
        ShadowKeys sk = batch.sequence(i).shadowKeys();
        int hd = c.headDimK(), chunk = sk.chunk(), chunks = sk.chunks();
        int pick = batch.sparse(i).budget() / chunk;
        float scale = (float) (1.0 / Math.sqrt(hd));
        int qBase = i * c.qDim(), h0 = kvh * group;
        int picked = choose(layer, sk, kvh, qBase, q, scale, chunks, pick, wk);
        // attended positions in order: chosen and outlier chunks merged, then the tail
        int[] ent = entries[wk];
        int[] ch = chosen[wk], outl = sk.outliers(layer);
        int[] src = source[wk];
        int oc = sk.outlierCount(), a = 0, b = 0, n = 0;
        while (a < picked || b < oc) {
            boolean fromChosen = b >= oc || (a < picked && ch[a] < outl[kvh * oc + b]);
            int row = fromChosen ? -1 : (kvh * oc + b) * chunk;
            int chk = fromChosen ? ch[a++] : outl[kvh * oc + b++];
            for (int s = 0; s < chunk; s++) {
                src[n] = fromChosen ? REBUILT : row + s;
                ent[n++] = chk * chunk + s;
            }
        }
        for (int p = chunks * chunk; p < len; p++) {
            src[n] = CACHE;
            ent[n++] = p;
        }
        gatherKeys(layer, sk, kvh, slots, n, wk, cache, kRot);
        float[] s = sc[wk], kt = keyTiles[wk];
        int stride = s.length / group;
        boolean vectors = AttentionKernels.vectorTiles();
        for (int e0 = 0; e0 < n; e0 += 2 * TILE) {
            boolean pair = e0 + TILE < n;
            score(q, qBase, h0, group, kt, e0 * hd, pair ? (e0 + TILE) * hd : e0 * hd, Math.min(2 * TILE, n - e0), e0,
                    vectors, scale, s, stride);
        }
        for (int h = 0; h < group; h++) {
            LayerOps.softmax(s, h * stride, n);
        }
        int hdV = c.headDimV();
        int[] vs = valueSlots[wk];
        for (int e = 0; e < n; e++) {
            vs[e] = slots[ent[e]];
        }
        float[] v = vw[wk];
        for (int c0 = 0; c0 < n; c0 += PagedAttention.VALUE_CHUNK) {
            int m = Math.min(PagedAttention.VALUE_CHUNK, n - c0);
            values.widenRows(vs, c0, m, kvh * hdV, hdV, v, 0);
            for (int hg = 0; hg < group; hg += 4) {
                int hs = Math.min(4, group - hg);
                boolean four = hs == 4 && hdV % (4 * AttentionKernels.lanes()) == 0;
                AttentionKernels.mix(four, hs, out, o + hg * hdV, hdV, s, stride, hg * stride + c0, v, rowOffsets[wk], 0, m,
                        c0 > 0);
            }
        }
    }

    /** Chooses {@code pick} chunks for KV head kvh into {@code chosen[wk]} (ascending); returns how many. */
    private int choose(int layer, ShadowKeys sk, int kvh, int qBase, float[] q, float scale, int chunks, int pick, int wk) {
        int hd = c.headDimK();
        float[] s = sel[wk], kt = tiles[wk], wt = weights[wk];
        int stride = s.length / group;
        KvArray landmarks = sk.landmarks(layer);
        int g0 = kvh * group;
        boolean vectors = AttentionKernels.vectorTiles();
        for (int t0 = 0; t0 < chunks; t0 += 2 * TILE) {
            landmarks.widenTile(t0, kvh * hd, hd, kt, 0);
            boolean pair = t0 + TILE < chunks;
            if (pair) {
                landmarks.widenTile(t0 + TILE, kvh * hd, hd, kt, TILE * hd);
            }
            score(q, qBase, g0, group, kt, 0, pair ? TILE * hd : 0, Math.min(2 * TILE, chunks - t0), t0, vectors, scale, s,
                    stride);
        }
        int[] outl = sk.outliers(layer);
        int oc = sk.outlierCount();
        Arrays.fill(wt, 0, chunks, Float.NEGATIVE_INFINITY);
        for (int h = 0; h < group; h++) {
            int r = h * stride;
            for (int j = 0; j < oc; j++) {
                s[r + outl[kvh * oc + j]] = Float.NEGATIVE_INFINITY;
            }
            LayerOps.softmax(s, r, chunks);
            for (int t = 0; t < chunks; t++) {
                wt[t] = Math.max(wt[t], s[r + t]);
            }
        }
        for (int j = 0; j < oc; j++) {
            wt[outl[kvh * oc + j]] = Float.NEGATIVE_INFINITY;
        }
        return TopK.select(wt, chunks, pick, topTmp[wk], chosen[wk], 0);
    }

    /**
     * Scores of heads h0 .. h0+heads against {@code count} (at most 32) keys in one or two tiles of {@code kt} (from
     * {@code ka}, the second from {@code kb}), into {@code s[h·stride + at0 ..]}.
     */
    private void score(float[] q, int qBase, int h0, int heads, float[] kt, int ka, int kb, int count, int at0,
                       boolean vectors, float scale, float[] s, int stride) {
        int hd = c.headDimK();
        if (vectors) {
            for (int col = 0; col < TILE; col += AttentionKernels.lanes()) {
                KeyScores.pair(q, kt, qBase, h0, heads, hd, ka + col, kb + col, scale, s, stride, at0 + col,
                        kb != ka ? at0 + TILE + col : at0 + col);
            }
            return;
        }
        for (int e = 0; e < count; e++) {
            int k = e < TILE ? ka + e : kb + e - TILE;
            for (int h = 0; h < heads; h++) {
                s[h * stride + at0 + e] = AttentionKernels.score(q, qBase + (h0 + h) * hd, hd, kt, k, scale);
            }
        }
    }

    /** The attended keys, rebuilt or widened as stored, into {@link #keyTiles} (entry e at tile e/16, column e%16). */
    private void gatherKeys(int layer, ShadowKeys sk, int kvh, int[] slots, int n, int wk, PagedKvCache cache, int kRot) {
        int hd = c.headDimK();
        KvArray keys = cache.keys(layer);
        float[] kt = keyTiles[wk];
        int[] ent = entries[wk], src = source[wk];
        KvArray outlierKeys = sk.outlierKeys(layer);
        int padded = (n + TILE - 1) / TILE * TILE;
        for (int e = 0; e < padded; e++) {
            int off = (e / TILE) * TILE * hd + e % TILE;
            if (e >= n) {
                for (int d = 0; d < hd; d++) {
                    kt[off + TILE * d] = 0f;
                }
            } else if (src[e] == REBUILT) {
                rebuild(layer, sk, kvh, ent[e], kRot, wk, kt, off);
            } else if (src[e] == CACHE) {
                keys.widenKey(cache.keySlot(slots[ent[e]]), kvh * hd, hd, kt, off, TILE);
            } else {
                outlierKeys.widenKey(src[e], 0, hd, kt, off, TILE);
            }
        }
    }

    /** The stored form of position p's key of KV head kvh rebuilt from the factors, into {@code kt[off + 16d]}. */
    private void rebuild(int layer, ShadowKeys sk, int kvh, int p, int kRot, int wk, float[] kt, int off) {
        float[] k = key[wk];
        ShadowKeysBuilder.rebuild(sk, layer, kvh, p, c.headDimK(), rope, cosT, sinT, kRot, factor[wk], k);
        for (int d = 0; d < k.length; d++) {
            kt[off + TILE * d] = k[d];
        }
    }
}
