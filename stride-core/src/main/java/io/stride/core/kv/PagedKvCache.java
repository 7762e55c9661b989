package io.stride.core.kv;

import io.stride.core.kv.store.KvArray;

/**
 * Keys and values of every layer, stored in fixed-size blocks of positions. A sequence owns a block table
 * ({@link KvSequence}); blocks come from one {@link BlockAllocator}. Keys and values each have their
 * {@link KvCacheType} (f32, f16, bf16, q8_0, q4_0).
 *
 * <p>Values are slot-major (a {@link KvArray} in rows). Keys are stored in tiles of {@link #KEY_TILE} consecutive
 * slots, transposed, so that value j of sixteen consecutive slots is one run and attention scores sixteen keys per
 * vector operation (a {@link KvArray} in tiles).
 */
public final class PagedKvCache {
    /** Slots per key tile. */
    public static final int KEY_TILE = KvArray.TILE;

    private final int layers;
    private final int keyDim;
    private final int valueDim;
    private final int blockSize;
    private final BlockAllocator allocator;
    private final KvCacheConfig config;
    private final KvArray[] keys;
    private final KvArray[] values;

    /** A float32 cache. */
    public PagedKvCache(int layers, int keyDim, int valueDim, int blockSize, int numBlocks) {
        this(KvCacheConfig.of(KvCacheType.F32), layers, keyDim, valueDim, blockSize, numBlocks);
    }

    /** keyDim and valueDim multiples of 32 for the block types. */
    public PagedKvCache(KvCacheConfig config, int layers, int keyDim, int valueDim, int blockSize, int numBlocks) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be positive");
        }
        long slots = (long) blockSize * numBlocks;
        if ((slots + KEY_TILE) * Math.max(keyDim, valueDim) > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache too large for one layer array: " + numBlocks + " blocks");
        }
        this.layers = layers;
        this.keyDim = keyDim;
        this.valueDim = valueDim;
        this.blockSize = blockSize;
        this.config = config;
        this.allocator = new BlockAllocator(numBlocks);
        this.keys = new KvArray[layers];
        this.values = new KvArray[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = KvArray.of(config.keys(), true, (int) slots, keyDim);
            values[l] = KvArray.of(config.values(), false, (int) slots, valueDim);
        }
    }

    /** Blocks needed for {@code positions} positions. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }

    public KvSequence newSequence() {
        return new KvSequence(blockSize);
    }

    /**
     * Grows {@code seq}'s block table to hold {@code positions} positions. Returns false (allocating nothing)
     * when there are not enough free blocks.
     */
    public boolean reserve(KvSequence seq, int positions) {
        int need = blocksFor(positions) - seq.blockCount();
        if (need <= 0) {
            return true;
        }
        if (need > allocator.freeCount()) {
            return false;
        }
        for (int i = 0; i < need; i++) {
            seq.addBlock(allocator.allocate());
        }
        return true;
    }

    /** Appends already-filled blocks (retained by the caller, e.g. from the prefix cache) to an empty block table. */
    public void attach(KvSequence seq, int[] blocks, int positions) {
        if (seq.blockCount() != 0) {
            throw new IllegalStateException("attach needs an empty block table");
        }
        for (int b : blocks) {
            seq.addBlock(b);
        }
        seq.setLength(positions);
    }

    /** Forgets positions from {@code length} on, returning blocks no longer needed. */
    public void truncate(KvSequence seq, int length) {
        int keep = blocksFor(length);
        while (seq.blockCount() > keep) {
            allocator.release(seq.removeLastBlock());
        }
        seq.setLength(Math.min(seq.length(), length));
        if (length < seq.sparseFrom()) {
            seq.forgetSparse(); // the prompt its low-rank keys describe is gone
        }
    }

    /**
     * Copies the keys and values of position {@code from} to position {@code to} of the same sequence, in every
     * layer (speculative verification moves accepted tree nodes next to the committed context this way).
     */
    public void move(KvSequence seq, int from, int to) {
        if (from == to) {
            return;
        }
        int src = seq.slot(from), dst = seq.slot(to);
        for (int l = 0; l < layers; l++) {
            keys[l].copy(src, dst);
            values[l].copy(src, dst);
        }
    }

    /** Stores the keyDim key values {@code src[off ..]} of {@code slot} in {@code layer}. */
    public void writeKey(int layer, int slot, float[] src, int off) {
        keys[layer].write(slot, src, off);
    }

    /** Stores the valueDim values {@code src[off ..]} of {@code slot} in {@code layer}. */
    public void writeValue(int layer, int slot, float[] src, int off) {
        values[layer].write(slot, src, off);
    }

    /** Where key value {@code j} of {@code slot} lies in a float32 key array; value j + 1 lies {@link #KEY_TILE} further. */
    public int keyIndex(int slot, int j) {
        return (slot / KEY_TILE) * KEY_TILE * keyDim + KEY_TILE * j + slot % KEY_TILE;
    }

    /** Frees all of a sequence's blocks. */
    public void release(KvSequence seq) {
        truncate(seq, 0);
    }

    public BlockAllocator allocator() {
        return allocator;
    }

    public int blockSize() {
        return blockSize;
    }

    public int layers() {
        return layers;
    }

    public int keyDim() {
        return keyDim;
    }

    public int valueDim() {
        return valueDim;
    }

    public KvCacheConfig config() {
        return config;
    }

    public KvCacheType keyType() {
        return config.keys();
    }

    public KvCacheType valueType() {
        return config.values();
    }

    /** Layer {@code layer}'s keys, in tiles. */
    public KvArray keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code layer}'s values, slot-major. */
    public KvArray values(int layer) {
        return values[layer];
    }

    /** Bytes of keys and values of one block in every layer. */
    public long bytesPerBlock() {
        return KvCacheSize.bytesPerBlock(layers, keyDim, valueDim, config, blockSize);
    }

    /** Bytes the cache holds (tile padding included). */
    public long bytes() {
        long b = 0;
        for (int l = 0; l < layers; l++) {
            b += keys[l].bytes() + values[l].bytes();
        }
        return b;
    }
}
