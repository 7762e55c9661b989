package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ZipOptions;
import io.stride.core.kv.store.KvArray;
import io.stride.core.tensor.kernel.AttentionKernels;
import io.stride.core.tensor.kernel.LayerOps;

/**
 * ZipCache's saliency and block closing for one layer of a forward pass, run after the pass's keys and values are
 * written and before its attention. Token by token in position order, each token's key and value are staged as q8_0
 * in its sequence's open block (so a block is closed before the next block's tokens reuse the staging). Every token at offset p of its block (16 positions) scores its query heads against
 * the block's keys at offsets 0 .. p (as stored, the view the token's attention reads), takes the softmax per head and
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
    /** the open block's keys, value d of offset s at [16·d + s] (each KV head's hdK values in turn) */
    private final float[] keys;
    private final float[] scores = new float[BLOCK];
    private final float[] saliency = new float[BLOCK];
    private final int[] chosen = new int[BLOCK];
    private final int[] slots = new int[BLOCK];
    private KvSequence keysOf;
    private int keysFrom = -1, keysCount;

    ZipSaliency(ModelConfig c) {
        this.c = c;
        keys = new float[BLOCK * c.kvDimK()];
    }

    void run(int layer, Batch batch, PagedKvCache cache, float[] q, float[] k, float[] v) {
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
            cache.stageZip(seq, b0, p, layer, k, i * c.kvDimK(), v, i * c.kvDimV());
            widenOwnBlock(batch, i, seq, b0, off, node, stored);
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
                cache.closeZipBlock(seq, p, layer, chosen);
            }
        }
        keysOf = null;
    }

    /**
     * Widens the keys token i sees in its own block (offsets 0 .. off: the sequence's positions from b0, and for a
     * draft node its ancestors in place of the positions past its root) into {@link #keys}, reusing what the previous
     * token of the same sequence and block widened.
     */
    private void widenOwnBlock(Batch batch, int i, KvSequence seq, int b0, int off, boolean node, KvArray stored) {
        if (node || seq != keysOf || b0 != keysFrom || keysCount > off) {
            keysOf = node ? null : seq;
            keysFrom = b0;
            keysCount = 0;
        }
        if (node) {
            for (int s = 0; s <= off; s++) {
                slots[s] = seq.slot(b0 + s);
            }
            for (int at = i; batch.parent(at) >= 0; at = batch.parent(at)) {
                slots[batch.ropePosition(at) - b0] = seq.slot(batch.position(at));
            }
            for (int s = 0; s <= off; s++) {
                stored.widenKey(slots[s], 0, c.kvDimK(), keys, s, BLOCK);
            }
            return;
        }
        for (; keysCount <= off; keysCount++) {
            stored.widenKey(seq.slot(b0 + keysCount), 0, c.kvDimK(), keys, keysCount, BLOCK);
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
