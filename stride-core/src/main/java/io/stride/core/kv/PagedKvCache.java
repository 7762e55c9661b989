package io.stride.core.kv;

import io.stride.core.kv.store.KvArray;
import io.stride.core.kv.store.ZipStage;

/**
 * Keys and values of every layer, stored in fixed-size blocks of positions. A sequence owns a block table
 * ({@link KvSequence}); blocks come from one {@link BlockAllocator}. Keys and values each have their
 * {@link KvCacheType} (f32, f16, bf16, q8_0, q4_0).
 *
 * <p>Values are slot-major (a {@link KvArray} in rows). Keys are stored in tiles of {@link #KEY_TILE} consecutive
 * slots, transposed, so that value j of sixteen consecutive slots is one run and attention scores sixteen keys per
 * vector operation (a {@link KvArray} in tiles).
 *
 * <p>ZipCache ({@link KvCacheType#ZIP}, blocks of {@link ZipOptions#BLOCK} positions): each sequence keeps its open
 * block as q8_0 in a {@link ZipStage} beside the q4_0 base (its tokens read it from there, as KIVI keeps the recent
 * tokens in full precision); closing a block upgrades its salient slots (the model's {@code ZipSaliency}). Speculative drafts stay inside the open block short of its last position, so slots move
 * and truncation happens only inside the open block.
 *
 * <p>Keys in a pool of their own ({@link KvCacheConfig#separateKeys}): key arrays hold the key blocks, and slot s's key
 * lies at {@link #keySlot}(s) (its block's key block, same offset). ShadowKV gives back the key blocks of the prompt
 * positions it has factored ({@link #dropPromptKeys}); nothing reads those keys afterwards.
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
    private final boolean separateKeys;
    /** ZipCache: draft nodes a sequence's staging holds beyond its open block (the engine's largest draft) */
    private int zipTreeNodes;

    /** A float32 cache. */
    public PagedKvCache(int layers, int keyDim, int valueDim, int blockSize, int numBlocks) {
        this(KvCacheConfig.of(KvCacheType.F32), layers, keyDim, valueDim, blockSize, numBlocks);
    }

    /** keyDim and valueDim multiples of 32 for the block types. */
    public PagedKvCache(KvCacheConfig config, int layers, int keyDim, int valueDim, int blockSize, int numBlocks) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be positive");
        }
        if (config.zipped() && blockSize != ZipOptions.BLOCK) {
            throw new IllegalArgumentException("a zip KV cache needs blocks of " + ZipOptions.BLOCK + " positions, got " + blockSize);
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
        if (config.separateKeys() && blockSize % KEY_TILE != 0) {
            // a key tile must lie in one block for its slots to map to one key block
            throw new IllegalArgumentException("keys in a pool of their own need blocks of a multiple of " + KEY_TILE + " positions, got " + blockSize);
        }
        int keyBlocks = config.keyBlocks(numBlocks);
        this.separateKeys = config.separateKeys();
        this.allocator = new BlockAllocator(numBlocks, separateKeys ? keyBlocks : -1);
        this.keys = new KvArray[layers];
        this.values = new KvArray[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = KvArray.of(config.keys(), true, keyBlocks * blockSize, keyDim, config.zip());
            values[l] = KvArray.of(config.values(), false, (int) slots, valueDim, config.zip());
        }
    }

    /** ZipCache: sequences made from now on stage up to {@code nodes} draft nodes (speculative verification). */
    public void setZipTreeNodes(int nodes) {
        this.zipTreeNodes = nodes;
    }

    /** Blocks needed for {@code positions} positions. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }

    public KvSequence newSequence() {
        KvSequence seq = new KvSequence(blockSize);
        if (config.zipped()) {
            seq.setZipStage(new ZipStage(layers, keyDim, valueDim, config.keys() == KvCacheType.ZIP, config.values() == KvCacheType.ZIP,
                    zipTreeNodes));
        }
        return seq;
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
        if (config.zipped()) {
            seq.zipStage().setClosedEnd(positions / blockSize * blockSize); // shared blocks are whole, hence closed
        }
    }

    /** Forgets positions from {@code length} on, returning blocks no longer needed. */
    public void truncate(KvSequence seq, int length) {
        // positions left before the ShadowKV prompt's end would be read densely, and some of their keys are gone
        if (length > 0 && seq.keysGivenBack() > 0 && (length < seq.keysGivenBack() || length < seq.sparseFrom())) {
            throw new IllegalStateException("the keys of positions below " + seq.keysGivenBack() + " were given back (ShadowKV); cannot resume at " + length);
        }
        if (config.zipped() && length < seq.zipStage().closedEnd()) {
            if (length % blockSize != 0) {
                // a closed block's upgrades were chosen with the positions being dropped (drafts never reach a block's end)
                throw new IllegalStateException("a zip KV cache cannot truncate inside a closed block (" + length + ")");
            }
            seq.zipStage().setClosedEnd(length);
        }
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
     * With keys in a pool of their own: gives back the key blocks of {@code seq}'s whole blocks before position
     * {@code end} that it alone holds (ShadowKV has factored those positions and reads them no more); shared blocks
     * keep theirs. Returns the key blocks given back.
     */
    public int dropPromptKeys(KvSequence seq, int end) {
        if (!separateKeys) {
            return 0;
        }
        int dropped = 0;
        for (int i = 0; i < end / blockSize; i++) {
            if (allocator.dropKeys(seq.block(i))) {
                dropped++;
            }
        }
        seq.setKeysGivenBack(end / blockSize * blockSize);
        return dropped;
    }

    /** Where slot {@code slot}'s key lies in the key arrays: the slot itself, or its block's key block at the same offset. */
    public int keySlot(int slot) {
        return separateKeys ? allocator.keyBlock(slot / blockSize) * blockSize + slot % blockSize : slot;
    }

    /** The longest sequence's blocks: blocks, or key blocks when fewer (every position's keys are written once). */
    public int usableBlocks() {
        return Math.min(allocator.capacity(), allocator.keyCapacity());
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
            keys[l].copy(keySlot(src), keySlot(dst));
            values[l].copy(src, dst);
        }
        if (config.zipped()) {
            int b0 = to / blockSize * blockSize; // the open block, which drafts never leave
            seq.zipStage().move(from - b0, to - b0);
        }
    }

    /** Stores the keyDim key values {@code src[off ..]} of {@code slot} in {@code layer}. */
    public void writeKey(int layer, int slot, float[] src, int off) {
        keys[layer].write(keySlot(slot), src, off);
    }

    /** Stores the valueDim values {@code src[off ..]} of {@code slot} in {@code layer}. */
    public void writeValue(int layer, int slot, float[] src, int off) {
        values[layer].write(slot, src, off);
    }

    /** Where key value {@code j} of {@code slot} lies in a float32 key array; value j + 1 lies {@link #KEY_TILE} further. */
    public int keyIndex(int slot, int j) {
        int k = keySlot(slot);
        return (k / KEY_TILE) * KEY_TILE * keyDim + KEY_TILE * j + k % KEY_TILE;
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

    /** Layer {@code layer}'s keys, in tiles, indexed by {@link #keySlot}. */
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
