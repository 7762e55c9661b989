package io.stride.core.model;

import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.parallel.WorkerPool;

/** Test helper: logits of every position of a token list, fed in chunks of given sizes through a paged cache. */
public final class ModelRunner {
    private ModelRunner() {}

    public static float[] allLogits(Model model, int[] tokens, int[] chunkSizes, int blockSize, int threads) {
        return allLogits(model, tokens, chunkSizes, blockSize, threads, KvCacheType.DEFAULT);
    }

    /** {@link #allLogits(Model, int[], int[], int, int)} with keys and values cached as {@code type}. */
    public static float[] allLogits(Model model, int[] tokens, int[] chunkSizes, int blockSize, int threads, KvCacheType type) {
        return allLogits(model, tokens, chunkSizes, blockSize, threads, io.stride.core.kv.KvCacheConfig.of(type));
    }

    /** {@link #allLogits(Model, int[], int[], int, int)} with the cache configured as {@code kv}. */
    public static float[] allLogits(Model model, int[] tokens, int[] chunkSizes, int blockSize, int threads,
                                    io.stride.core.kv.KvCacheConfig kv) {
        int vocab = model.config().vocab();
        float[] out = new float[tokens.length * vocab];
        try (WorkerPool pool = new WorkerPool(threads)) {
            Transformer tf = new Transformer(model, pool);
            PagedKvCache cache = tf.newCache(kv, blockSize, (tokens.length + blockSize - 1) / blockSize + 4);
            // take a block first so the sequence's blocks are not simply 0..n (exercises the block table)
            KvSequence other = cache.newSequence();
            cache.reserve(other, 1);
            KvSequence seq = cache.newSequence();
            if (!cache.reserve(seq, tokens.length)) {
                throw new IllegalStateException("cache too small");
            }
            Batch b = new Batch();
            int pos = 0;
            int ci = 0;
            float[] buf = new float[tokens.length * vocab];
            while (pos < tokens.length) {
                int n = Math.min(chunkSizes[ci++ % chunkSizes.length], tokens.length - pos);
                b.clear();
                for (int i = 0; i < n; i++) {
                    b.add(tokens[pos + i], pos + i, seq, true);
                }
                tf.forward(b, cache, buf);
                System.arraycopy(buf, 0, out, pos * vocab, n * vocab);
                pos += n;
            }
            return out;
        }
    }
}
