package io.stride.core.model;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.store.KvArray;
import io.stride.core.kv.store.ZipArray;
import io.stride.core.tensor.kernel.AttentionKernels;

/**
 * Attention scores of a {@link PagedAttention} work item: keys of sixteen consecutive cache slots (one key tile) are
 * scored sixteen per vector operation in place (f32) or widened a tile at a time; keys whose slots do not form a whole
 * run of one tile are widened into a tile sixteen at a time or, fewer than {@link #GATHER}, scored one by one with the
 * same operations ({@link AttentionKernels#score}), so a key's score does not depend on how it was reached.
 */
final class KeyScores {
    private static final int TILE = PagedKvCache.KEY_TILE;
    /** Fewest scattered keys gathered into a tile for the vector kernels (fewer are scored one by one). */
    private static final int GATHER = 4;

    private final ModelConfig c;
    /** per worker: two widened key tiles and one widened key (for the types other than f32) */
    private final float[][] keyScratch;

    KeyScores(ModelConfig c, int workers) {
        this.c = c;
        keyScratch = new float[workers][3 * TILE * c.headDimK()];
    }

    /**
     * Scores of heads h0 .. h0+hs of token i ({@code q}) against the keys of its visible positions from .. to (cache
     * slots {@code slots[from ..]}; {@code keys}: the f32 keys read in place, else null and {@code keyArray} widened),
     * into {@code sc[h·sstride + t - from]}. ZipCache keys ({@code zip} not null): the positions before {@code upTo}
     * (a multiple of 16: the token's own block starts there) are read with their block's upgrades, those from it on
     * as q8_0 copies: position upTo + s at entry {@code entries[s]} of {@code pass} (the sequence's staging {@code own}
     * or the pass's rows; {@code own} null when keys are not zip).
     */
    void score(float[] q, float[] keys, KvArray keyArray, ZipArray zip, int upTo, ZipPass pass, KvArray own, int[] entries, PagedKvCache cache,
               int i, int kvh, int h0, int hs, int[] slots, int from, int to, int wk, float[] sc, int sstride) {
        int hdK = c.headDimK();
        float scale = (float) (1.0 / Math.sqrt(hdK));
        int qBase = i * c.qDim();
        int j0 = kvh * hdK;
        boolean vectors = AttentionKernels.vectorTiles();
        int lanes = AttentionKernels.lanes();
        float[] kw = keyScratch[wk];
        float[] k = keys != null ? keys : kw;
        int oneKey = 2 * TILE * hdK; // the scratch of one widened key, after the two tile buffers
        int buffer = 0;
        int pendingK = -1, pendingS = 0; // a vector column waiting for a partner
        for (int t0 = from; t0 < to; t0 += TILE) {
            int count = Math.min(TILE, to - t0);
            boolean staged = own != null && t0 >= upTo; // a token's own block, read from its staging
            boolean whole = vectors && !staged && VisibleSlots.wholeTileRun(slots, t0, count);
            // scattered keys (a sparse layer's positions) gathered into a tile: same kernel, same bits as in place
            if (whole || (vectors && keys == null && count >= GATHER)) {
                int base;
                if (keys != null) {
                    base = cache.keyIndex(slots[t0], 0) + j0 * TILE;
                } else {
                    // alternate buffers: a pending column lies in the other one
                    buffer ^= 1;
                    base = buffer * TILE * hdK;
                    if (whole) {
                        keyArray.widenTile(cache.keySlot(slots[t0]), j0, hdK, kw, base);
                        if (zip != null && t0 < upTo) {
                            zip.upgradeTile(slots[t0], j0, hdK, kw, base);
                        }
                    } else {
                        for (int s = 0; s < count; s++) {
                            if (staged) {
                                pass.widenKey(own, entries[t0 + s - upTo], j0, hdK, kw, base + s, TILE);
                                continue;
                            }
                            keyArray.widenKey(cache.keySlot(slots[t0 + s]), j0, hdK, kw, base + s, TILE);
                            if (zip != null && t0 + s < upTo) {
                                zip.upgradeKey(slots[t0 + s], j0, hdK, kw, base + s, TILE);
                            }
                        }
                    }
                }
                for (int col = 0; col < TILE; col += lanes) {
                    if (pendingK < 0) {
                        pendingK = base + col;
                        pendingS = t0 - from + col;
                    } else {
                        pair(q, k, qBase, h0, hs, hdK, pendingK, base + col, scale, sc, sstride, pendingS, t0 - from + col);
                        pendingK = -1;
                    }
                }
            } else {
                for (int t = t0; t < t0 + count; t++) {
                    int kOff;
                    if (keys != null) {
                        kOff = cache.keyIndex(slots[t], 0) + j0 * TILE;
                    } else if (staged) {
                        kOff = oneKey;
                        pass.widenKey(own, entries[t - upTo], j0, hdK, kw, kOff, TILE);
                    } else {
                        kOff = oneKey;
                        keyArray.widenKey(cache.keySlot(slots[t]), j0, hdK, kw, kOff, TILE);
                        if (zip != null && t < upTo) {
                            zip.upgradeKey(slots[t], j0, hdK, kw, kOff, TILE);
                        }
                    }
                    for (int h = 0; h < hs; h++) {
                        sc[h * sstride + t - from] = AttentionKernels.score(q, qBase + (h0 + h) * hdK, hdK, k, kOff, scale);
                    }
                }
            }
        }
        if (pendingK >= 0) {
            pair(q, k, qBase, h0, hs, hdK, pendingK, pendingK, scale, sc, sstride, pendingS, pendingS);
        }
    }

    /** Two key columns scored for heads h0 .. h0+hs, four heads per kernel call (rows h of {@code sc}). */
    static void pair(float[] q, float[] k, int qBase, int h0, int hs, int hdK, int ka, int kb, float scale, float[] sc,
                             int sstride, int sa, int sb) {
        for (int h = 0; h < hs; h += 4) {
            AttentionKernels.scorePair(q, k, qBase, h0 + h, Math.min(4, hs - h), hdK, ka, kb, scale, sc, sstride,
                    h * sstride + sa, h * sstride + sb);
        }
    }
}
