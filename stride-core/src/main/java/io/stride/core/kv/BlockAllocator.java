package io.stride.core.kv;

/**
 * Hands out fixed-size KV blocks by number and keeps a reference count per block, so that blocks can be
 * shared (prefix caching, forked sequences). A block whose last holder lets go returns to the free list, or,
 * when the {@link PrefixCache} still indexes it, stays cached until it is evicted (least recently used first)
 * to satisfy an allocation.
 *
 * <p>With a key pool of its own (fewer key blocks than blocks): a block takes a key block when it leaves the free list
 * and gives it back when it returns there or when its holder gives its keys up ({@link #dropKeys}). Invariant: a block
 * held or cached has a key block unless its keys were given up, and such a block is never cached.
 */
public final class BlockAllocator {
    private final int[] refCount;
    private final int[] freeStack;
    private int freeTop;
    /** the key block of each block, -1 for none; null when block b's keys are key block b */
    private final int[] keyOf;
    private final int[] keyFree;
    private int keyFreeTop;
    private PrefixCache prefixCache;

    public BlockAllocator(int numBlocks) {
        this(numBlocks, -1);
    }

    /** {@code keyBlocks} &lt; 0: every block's keys are its own (no key pool). */
    public BlockAllocator(int numBlocks, int keyBlocks) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("need at least one KV block, got " + numBlocks);
        }
        refCount = new int[numBlocks];
        freeStack = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            freeStack[i] = numBlocks - 1 - i;
        }
        freeTop = numBlocks;
        if (keyBlocks < 0) {
            keyOf = null;
            keyFree = null;
            return;
        }
        if (keyBlocks < 1 || keyBlocks > numBlocks) {
            throw new IllegalArgumentException("key blocks must be in [1, " + numBlocks + "], got " + keyBlocks);
        }
        keyOf = new int[numBlocks];
        java.util.Arrays.fill(keyOf, -1);
        keyFree = new int[keyBlocks];
        for (int i = 0; i < keyBlocks; i++) {
            keyFree[i] = keyBlocks - 1 - i;
        }
        keyFreeTop = keyBlocks;
    }

    void attach(PrefixCache cache) {
        this.prefixCache = cache;
    }

    public int capacity() {
        return refCount.length;
    }

    /** Key blocks: as many as blocks without a key pool. */
    public int keyCapacity() {
        return keyFree == null ? refCount.length : keyFree.length;
    }

    /** Blocks that allocations can take: free ones that find a free key block, plus cached ones nobody holds (with theirs). */
    public int freeCount() {
        int free = keyFree == null ? freeTop : Math.min(freeTop, keyFreeTop);
        return free + (prefixCache == null ? 0 : prefixCache.evictableCount());
    }

    /** Blocks held by at least one sequence. */
    public int usedCount() {
        return refCount.length - freeTop - (prefixCache == null ? 0 : prefixCache.evictableCount());
    }

    /** Key blocks no block holds. */
    public int freeKeyCount() {
        return keyFree == null ? freeTop : keyFreeTop;
    }

    /** A fresh block with reference count 1 (evicting a cached block if needed), or -1 when none can be had. */
    public int allocate() {
        int b;
        if (freeTop > 0 && (keyFree == null || keyFreeTop > 0)) {
            b = freeStack[--freeTop];
            if (keyFree != null) {
                keyOf[b] = keyFree[--keyFreeTop];
            }
        } else if (prefixCache != null && (b = prefixCache.evictLeastRecentlyUsed()) >= 0) {
            // taken from the cache, with its key block
        } else {
            return -1;
        }
        refCount[b] = 1;
        return b;
    }

    /** The key block of block {@code b}: b itself without a key pool, -1 when its keys were given up. */
    public int keyBlock(int b) {
        return keyOf == null ? b : keyOf[b];
    }

    /**
     * Gives block b's key block back to the pool, when keys have a pool of their own and b has one sole holder (a
     * block shared with another sequence keeps its keys); the prefix cache forgets b, whose keys are gone. Returns
     * whether the keys were given up.
     */
    public boolean dropKeys(int b) {
        if (keyOf == null || refCount[b] != 1 || keyOf[b] < 0) {
            return false;
        }
        if (prefixCache != null) {
            prefixCache.forget(b);
        }
        keyFree[keyFreeTop++] = keyOf[b];
        keyOf[b] = -1;
        return true;
    }

    /** Adds a holder to a block (a cached block nobody held stops being evictable). */
    public void retain(int block) {
        if (refCount[block] == 0) {
            if (prefixCache == null || !prefixCache.reclaim(block)) {
                throw new IllegalStateException("retain of free block " + block);
            }
        }
        refCount[block]++;
    }

    /** Drops one reference; returns true when nobody holds the block any more. */
    public boolean release(int block) {
        if (refCount[block] <= 0) {
            throw new IllegalStateException("double free of block " + block);
        }
        if (--refCount[block] == 0) {
            if (prefixCache == null || !prefixCache.parkIfCached(block)) {
                freeStack[freeTop++] = block;
                if (keyOf != null && keyOf[block] >= 0) {
                    keyFree[keyFreeTop++] = keyOf[block];
                    keyOf[block] = -1;
                }
            }
            return true;
        }
        return false;
    }

    public int refCount(int block) {
        return refCount[block];
    }
}
