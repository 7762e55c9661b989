package io.stride.core.kv;

import io.stride.core.model.ModelConfig;

/**
 * How many KV blocks a server or a generation gets, from what the user asked: a block count, a memory size, or
 * by default room for {@link #DEFAULT_FULL_CONTEXTS} (or {@code maxSeqs}, if fewer) sequences of the whole
 * context. The cache is paged, so many more shorter sequences run at once; when blocks run out the newest
 * sequence is preempted and recomputed later. The default never takes more than a third of the heap, and with keys in a
 * pool of their own ({@link KvCacheConfig#keyShare}) it has key blocks for at least one whole context.
 *
 * @param blocks        blocks of {@link #BLOCK_SIZE} positions
 * @param bytesPerBlock keys and values of every layer for one block, in the cache types asked for
 */
public record KvCacheSize(int blocks, long bytesPerBlock) {
    /** Positions per KV block. */
    public static final int BLOCK_SIZE = 16;
    /** Full-context sequences the default cache holds (llama-server's default of 4 parallel slots). */
    public static final int DEFAULT_FULL_CONTEXTS = 4;

    /**
     * Bytes of one block of {@code blockSize} positions, keys and values of every layer; with keys in a pool of their
     * own, the keys count at the key share (what a cache of many blocks spends per block).
     */
    public static long bytesPerBlock(int layers, int keyDim, int valueDim, KvCacheConfig kv, int blockSize) {
        long keys = (long) layers * blockBytes(kv.keys(), kv, keyDim, blockSize);
        return (long) Math.ceil(keys * kv.keyShare()) + (long) layers * blockBytes(kv.values(), kv, valueDim, blockSize);
    }

    /** One layer's keys or values ({@code dim} per position) of one block; zip adds its upgrades (q8_0 slots and their offsets). */
    private static long blockBytes(KvCacheType type, KvCacheConfig kv, int dim, int blockSize) {
        long b = blockSize * type.bytes(dim);
        if (type == KvCacheType.ZIP) {
            long upgrades = (long) kv.zip().salient() * blockSize / ZipOptions.BLOCK;
            b += upgrades * (KvCacheType.Q8_0.bytes(dim) + 1);
        }
        return b;
    }

    public static long bytesPerBlock(ModelConfig c, KvCacheConfig kv) {
        return bytesPerBlock(c.layers(), c.kvDimK(), c.kvDimV(), kv, BLOCK_SIZE);
    }

    /** {@link #resolve(ModelConfig, KvCacheConfig, int, int, Integer, Long)} for the default cache types. */
    public static KvCacheSize resolve(ModelConfig c, int context, int maxSeqs, Integer requestedBlocks, Long requestedBytes) {
        return resolve(c, KvCacheConfig.DEFAULT, context, maxSeqs, requestedBlocks, requestedBytes);
    }

    /**
     * @param requestedBlocks null or a block count
     * @param requestedBytes  null or a memory size (not both), counted in the cache types' bytes
     */
    public static KvCacheSize resolve(ModelConfig c, KvCacheConfig kv, int context, int maxSeqs, Integer requestedBlocks,
                                      Long requestedBytes) {
        if (requestedBlocks != null && requestedBytes != null) {
            throw new IllegalArgumentException("give a KV cache size in blocks or in memory, not both");
        }
        long perBlock = bytesPerBlock(c, kv);
        int blocks;
        if (requestedBlocks != null) {
            if (requestedBlocks < 1) throw new IllegalArgumentException("the KV cache needs at least 1 block, got " + requestedBlocks);
            blocks = requestedBlocks;
        } else if (requestedBytes != null) {
            if (requestedBytes < perBlock) {
                throw new IllegalArgumentException("a KV cache of " + requestedBytes + " bytes holds no block (one block is " + perBlock + " bytes)");
            }
            blocks = (int) Math.min(Integer.MAX_VALUE, requestedBytes / perBlock);
        } else {
            long perContext = (context + BLOCK_SIZE - 1) / BLOCK_SIZE;
            long least = (long) Math.ceil(perContext / kv.keyShare()); // with a key pool, still one whole context's keys
            long wanted = Math.max(least, perContext * Math.min(maxSeqs, DEFAULT_FULL_CONTEXTS));
            long budget = Math.max(least, Runtime.getRuntime().maxMemory() / 3 / perBlock);
            blocks = (int) Math.max(1, Math.min(wanted, budget));
        }
        return new KvCacheSize(blocks, perBlock);
    }

    public int positions() {
        return blocks * BLOCK_SIZE;
    }

    public long bytes() {
        return blocks * bytesPerBlock;
    }
}
