package io.stride.core.kv;

/**
 * Keys and values of every layer, stored in fixed-size blocks of positions. A sequence owns a block table
 * ({@link KvSequence}); blocks come from one {@link BlockAllocator}. Storage is float32.
 *
 * <p>Values are slot-major: slot s of layer l keeps its valueDim values at {@code [s * valueDim, (s+1) * valueDim)}.
 * Keys are stored in tiles of {@link #KEY_TILE} consecutive slots, transposed: key value j of slot s at
 * {@link #keyIndex}{@code (s, j)} = {@code (s / 16) * 16 * keyDim + 16 * j + s % 16}, so that value j of sixteen
 * consecutive slots is one 16-float vector and attention scores sixteen keys per vector operation.
 */
public final class PagedKvCache {
    /** Slots per key tile. */
    public static final int KEY_TILE = 16;

    private final int layers;
    private final int keyDim;
    private final int valueDim;
    private final int blockSize;
    private final BlockAllocator allocator;
    private final float[][] keys;
    private final float[][] values;

    public PagedKvCache(int layers, int keyDim, int valueDim, int blockSize, int numBlocks) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be positive");
        }
        long slots = (long) blockSize * numBlocks;
        long keySlots = (slots + KEY_TILE - 1) / KEY_TILE * KEY_TILE;
        if (keySlots * Math.max(keyDim, valueDim) > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache too large for one layer array: " + numBlocks + " blocks");
        }
        this.layers = layers;
        this.keyDim = keyDim;
        this.valueDim = valueDim;
        this.blockSize = blockSize;
        this.allocator = new BlockAllocator(numBlocks);
        this.keys = new float[layers][(int) (keySlots * keyDim)];
        this.values = new float[layers][(int) (slots * valueDim)];
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
            float[] k = keys[l];
            for (int j = 0; j < keyDim; j++) {
                k[keyIndex(dst, j)] = k[keyIndex(src, j)];
            }
            System.arraycopy(values[l], src * valueDim, values[l], dst * valueDim, valueDim);
        }
    }

    /** Stores the keyDim key values {@code src[off ..]} of {@code slot} in {@code layer}. */
    public void writeKey(int layer, int slot, float[] src, int off) {
        float[] k = keys[layer];
        int base = keyIndex(slot, 0);
        for (int j = 0; j < keyDim; j++) {
            k[base + KEY_TILE * j] = src[off + j];
        }
    }

    /** Stores the valueDim values {@code src[off ..]} of {@code slot} in {@code layer}. */
    public void writeValue(int layer, int slot, float[] src, int off) {
        System.arraycopy(src, off, values[layer], slot * valueDim, valueDim);
    }

    /** Where key value {@code j} of {@code slot} lies in {@link #keys}; value j + 1 lies {@link #KEY_TILE} further. */
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

    /** Layer {@code layer}'s keys, laid out as {@link #keyIndex} says. */
    public float[] keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code layer}'s values, slot-major. */
    public float[] values(int layer) {
        return values[layer];
    }
}
