package io.stride.core.diffusion;

import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;

/**
 * The forward pass of a diffusion model over a canvas of {@code length} positions: every position attends to all of
 * them (bidirectional). A pass may compute only some positions ("active"); the others keep the keys and values the
 * cache holds from when they were last computed, which is exact for a full pass and dKV-Cache's approximation
 * otherwise. Keys and values are kept in f32, as llama.cpp's cache-less diffusion graph computes them.
 */
final class CanvasForward {
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final KvSequence seq;
    private final int vocab, capacity;
    private final Batch batch = new Batch();
    private final int[] rowOf;
    private float[] logits = new float[0];
    private int passes;
    private long rows;

    CanvasForward(Model model, WorkerPool pool, int capacity) {
        this.transformer = new Transformer(model, pool);
        this.capacity = capacity;
        this.vocab = model.config().vocab();
        int bs = 16;
        this.cache = transformer.newCache(KvCacheConfig.of(KvCacheType.F32, KvCacheType.F32), bs, (capacity + bs - 1) / bs);
        this.seq = cache.newSequence();
        if (!cache.reserve(seq, capacity)) {
            throw new IllegalStateException("diffusion canvas of " + capacity + " positions does not fit its cache");
        }
        this.rowOf = new int[capacity];
    }

    int capacity() {
        return capacity;
    }

    /**
     * Computes the positions {@code p < length} with {@code active[p]} (all when {@code active} is null) of
     * {@code canvas}; the logits of positions with {@code wantLogits[p]} are then at {@link #row}.
     */
    void run(int[] canvas, int length, boolean[] active, boolean[] wantLogits) {
        batch.clear();
        int n = 0;
        for (int p = 0; p < length; p++) {
            if (active == null || active[p]) {
                boolean want = wantLogits[p];
                batch.addBidirectional(canvas[p], p, seq, want, length);
                rowOf[p] = want ? n++ : -1;
            } else {
                rowOf[p] = -1;
            }
        }
        if ((long) n * vocab > logits.length) {
            logits = new float[Math.max(n, 16) * vocab];
        }
        transformer.forward(batch, cache, logits);
        seq.setLength(Math.max(seq.length(), length));
        passes++;
        rows += batch.size();
    }

    /** Offset in {@link #logits} of position p's row in the last pass (p must have asked for logits). */
    int row(int p) {
        if (rowOf[p] < 0) {
            throw new IllegalStateException("position " + p + " has no logits in this pass");
        }
        return rowOf[p] * vocab;
    }

    float[] logits() {
        return logits;
    }

    int passes() {
        return passes;
    }

    long rows() {
        return rows;
    }

    void resetCounters() {
        passes = 0;
        rows = 0;
    }
}
