package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ZipOptions;
import io.stride.core.kv.store.KvArray;
import io.stride.core.kv.store.ZipArray;
import io.stride.core.kv.store.ZipStage;
import io.stride.core.tensor.kernel.AttentionKernels;
import io.stride.core.tensor.kernel.LayerOps;

/**
 * ZipCache's saliency and block closing for one layer of a forward pass, run after the pass's keys and values are
 * written (and copied as q8_0 by {@link ZipPass}) and before its attention, token by token in batch order. Every
 * token at offset p of its block (16 positions) scores its query heads against the block's keys at offsets 0 .. p (as its attention reads them: staged q8_0 for zip keys), takes the softmax per head and
 * leaves row p: Σ over heads of (p + 1)·probability for each offset (uniform attention gives 1 everywhere, so a row
 * does not favour the block's first slots merely for having fewer rivals). The token at offset 15 closes the block:
 * the saliency of offset s is the mean of its column over the rows p ≥ s (ZipCache's normalized attention: what the
 * token received divided by how many queries could attend to it), and the {@code salient} highest (ties to the
 * lower offset) are upgraded to q8_0; with {@code select=fixed}, offsets 16·u / salient instead.
 *
 * <p>Draft nodes of a speculative step (which stay in their root's block, short of its last position) leave their
 * rows and staged values at their storage positions; accepted ones are moved to their offsets with their slots.
 *
 * <p>Why the block's own tokens: a block's bytes must be a function of the tokens up to its end (its prefix-cache
 * hash), and every token after the block must read the same bytes whether it is computed in the pass that closes
 * the block or later, so the choice can only use what exists when the block's last position is computed. Blocks are
 * classified once, when they close; nothing is classified again.
 */
final class ZipSaliency {
    private static final int BLOCK = ZipOptions.BLOCK;

    private final ModelConfig c;
    private final ZipPass pass;
    /** the own block's keys, value d of offset s at [16·d + s] (each KV head's hdK values in turn) */
    private final float[] keys;
    private final float[] scores = new float[BLOCK];
    private final float[] saliency = new float[BLOCK];
    private final int[] chosen = new int[BLOCK];
    private final int[] entries = new int[BLOCK];
    private KvSequence keysOf;
    private int keysFrom = -1, keysCount;

    ZipSaliency(ModelConfig c, ZipPass pass) {
        this.c = c;
        this.pass = pass;
        keys = new float[BLOCK * c.kvDimK()];
    }

    /** The saliency rows of the pass's tokens in {@code layer} and the closing of the blocks they fill, in batch order. */
    void run(int layer, Batch batch, PagedKvCache cache, float[] q) {
        ZipOptions zip = cache.config().zip();
        KvArray stored = cache.keys(layer);
        int hdK = c.headDimK(), group = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(hdK));
        keysOf = null;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.visible(i) >= 0) {
                throw new IllegalStateException("a zip KV cache serves causal tokens only (no bidirectional ones)");
            }
            KvSequence seq = batch.sequence(i);
            boolean node = batch.parent(i) >= 0;
            // a draft node is stored past the committed positions (p) but sits at its rope position in its block
            int r = batch.ropePosition(i), p = batch.position(i), off = r % BLOCK, b0 = r - off;
            if (node && off == BLOCK - 1) {
                throw new IllegalStateException("a draft node at a block's last position (drafts stop short of it with a zip cache)");
            }
            widenOwnBlock(batch, i, seq, b0, off, node, stored, seq.zipStage().keys(layer));
            float[] rows = seq.zipStage().rows(layer);
            int row = BLOCK * (p - b0);
            java.util.Arrays.fill(rows, row, row + BLOCK, 0f);
            for (int h = 0; h < c.heads(); h++) {
                int qa = i * c.qDim() + h * hdK, k0 = BLOCK * (h / group) * hdK;
                for (int s = 0; s <= off; s++) {
                    scores[s] = AttentionKernels.score(q, qa, hdK, keys, k0 + s, scale);
                }
                LayerOps.softmax(scores, 0, off + 1);
                for (int s = 0; s <= off; s++) {
                    rows[row + s] += (off + 1) * scores[s];
                }
            }
            if (off == BLOCK - 1) {
                choose(zip, rows);
                close(layer, cache, seq, i, b0);
            }
        }
        keysOf = null;
    }

    /** Upgrades the chosen offsets of the block from b0 that token i completes, from their q8_0 copies. */
    private void close(int layer, PagedKvCache cache, KvSequence seq, int i, int b0) {
        ZipStage stage = seq.zipStage();
        int block = seq.block(b0 / BLOCK);
        for (int u = 0; u < cache.config().zip().salient(); u++) {
            int s = chosen[u], e = pass.row(i, b0 + s, s);
            if (cache.keys(layer) instanceof ZipArray z) {
                z.upgrade(block, u, s, pass.source(stage, layer, e, true), e >= 0 ? e : -1 - e);
            }
            if (cache.values(layer) instanceof ZipArray z) {
                z.upgrade(block, u, s, pass.source(stage, layer, e, false), e >= 0 ? e : -1 - e);
            }
        }
        stage.setClosedEnd(b0 + BLOCK);
    }

    /**
     * Widens the keys token i sees in its own block (offsets 0 .. off) into {@link #keys}, as its attention reads them:
     * q8_0 copies for zip keys, else the cache; reusing what the previous token of the same sequence and block widened.
     */
    private void widenOwnBlock(Batch batch, int i, KvSequence seq, int b0, int off, boolean node, KvArray stored, KvArray staged) {
        if (node || seq != keysOf || b0 != keysFrom || keysCount > off) {
            keysOf = node ? null : seq;
            keysFrom = b0;
            keysCount = 0;
        }
        pass.ownEntries(batch, i, b0, entries);
        for (; keysCount <= off; keysCount++) {
            int e = entries[keysCount];
            if (staged != null) {
                pass.widenKey(staged, e, 0, c.kvDimK(), keys, keysCount, BLOCK);
            } else {
                // keys not zip: the cache, at the position the entry stands for
                int pos = e >= 0 ? b0 + e : batch.position(-1 - e);
                stored.widenKey(seq.slot(pos), 0, c.kvDimK(), keys, keysCount, BLOCK);
            }
        }
    }

    /** The offsets to upgrade into {@link #chosen}[0 .. salient). */
    private void choose(ZipOptions zip, float[] rows) {
        int n = zip.salient();
        if (!zip.byAttention()) {
            for (int u = 0; u < n; u++) {
                chosen[u] = BLOCK * u / n;
            }
            return;
        }
        for (int s = 0; s < BLOCK; s++) {
            float sum = 0f;
            for (int p = s; p < BLOCK; p++) {
                sum += rows[BLOCK * p + s];
            }
            saliency[s] = sum / (BLOCK - s);
        }
        for (int u = 0; u < n; u++) {
            int best = -1;
            for (int s = 0; s < BLOCK; s++) {
                if (saliency[s] != Float.NEGATIVE_INFINITY && (best < 0 || saliency[s] > saliency[best])) {
                    best = s;
                }
            }
            chosen[u] = best;
            saliency[best] = Float.NEGATIVE_INFINITY;
        }
    }
}
