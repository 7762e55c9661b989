package io.stride.core.kv;

/**
 * Hands out fixed-size KV blocks by number and keeps a reference count per block, so that blocks can be
 * shared (prefix caching, forked sequences) and return to the free list when the last holder lets go.
 */
public final class BlockAllocator {
    private final int[] refCount;
    private final int[] freeStack;
    private int freeTop;

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

    public int capacity() {
        return refCount.length;
    }

    public int freeCount() {
        return freeTop;
    }

    /** A fresh block with reference count 1, or -1 when none is free. */
    public int allocate() {
        if (freeTop == 0) {
            return -1;
        }
        int b = freeStack[--freeTop];
        refCount[b] = 1;
        return b;
    }

    public void retain(int block) {
        if (refCount[block] <= 0) {
            throw new IllegalStateException("retain of free block " + block);
        }
        refCount[block]++;
    }

    /** Drops one reference; returns true when the block became free. */
    public boolean release(int block) {
        if (refCount[block] <= 0) {
            throw new IllegalStateException("double free of block " + block);
        }
        if (--refCount[block] == 0) {
            freeStack[freeTop++] = block;
            return true;
        }
        return false;
    }

    public int refCount(int block) {
        return refCount[block];
    }
}
