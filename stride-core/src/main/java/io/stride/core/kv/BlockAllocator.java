package io.stride.core.kv;

/**
 * Hands out fixed-size KV blocks by number and keeps a reference count per block, so that blocks can be
 * shared (prefix caching, forked sequences). A block whose last holder lets go returns to the free list, or,
 * when the {@link PrefixCache} still indexes it, stays cached until it is evicted (least recently used first)
 * to satisfy an allocation.
 */
public final class BlockAllocator {
    private final int[] refCount;
    private final int[] freeStack;
    private int freeTop;
    private PrefixCache prefixCache;

    public BlockAllocator(int numBlocks) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("need at least one KV block, got " + numBlocks);
        }
        refCount = new int[numBlocks];
        freeStack = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            freeStack[i] = numBlocks - 1 - i;
        }
        freeTop = numBlocks;
    }

    void attach(PrefixCache cache) {
        this.prefixCache = cache;
    }

    public int capacity() {
        return refCount.length;
    }

    /** Blocks that an allocation can take: free ones plus cached ones nobody holds. */
    public int freeCount() {
        return freeTop + (prefixCache == null ? 0 : prefixCache.evictableCount());
    }

    /** Blocks held by at least one sequence. */
    public int usedCount() {
        return refCount.length - freeCount();
    }

    /** A fresh block with reference count 1 (evicting a cached block if needed), or -1 when none can be had. */
    public int allocate() {
        int b;
        if (freeTop > 0) {
            b = freeStack[--freeTop];
        } else if (prefixCache != null && (b = prefixCache.evictLeastRecentlyUsed()) >= 0) {
            // taken from the cache
        } else {
            return -1;
        }
        refCount[b] = 1;
        return b;
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
            }
            return true;
        }
        return false;
    }

    public int refCount(int block) {
        return refCount[block];
    }
}
