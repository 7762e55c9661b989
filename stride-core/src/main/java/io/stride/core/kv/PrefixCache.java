package io.stride.core.kv;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Automatic prefix caching over the paged KV cache: a full block is identified by a hash of every token up to
 * and including it (and a per-tenant salt), so a new sequence can reuse the blocks of its longest cached
 * prefix instead of recomputing them. Blocks nobody holds stay cached until an allocation evicts them, least
 * recently used first. Token contents are kept and compared, so a hash collision can never alias two prefixes.
 */
public final class PrefixCache {
    private final BlockAllocator allocator;
    private final int blockSize;
    /** written by the engine thread only; read by others through {@link #contains} */
    private final Map<Long, Integer> blockByHash = new ConcurrentHashMap<>();
    private final long[] hashOfBlock;
    private final long[] parentOfBlock;
    private final int[][] tokensOfBlock;
    private final boolean[] cached;
    /** cached blocks with no holder, least recently used first */
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();
    private final io.stride.core.engine.EngineListener events;
    private long hits;
    private long queries;

    public PrefixCache(PagedKvCache cache) {
        this(cache, null);
    }

    /** {@code events} (nullable) hears of every block indexed and forgotten, on the thread that changes the cache. */
    public PrefixCache(PagedKvCache cache, io.stride.core.engine.EngineListener events) {
        this.events = events;
        this.allocator = cache.allocator();
        this.blockSize = cache.blockSize();
        int n = allocator.capacity();
        hashOfBlock = new long[n];
        parentOfBlock = new long[n];
        tokensOfBlock = new int[n][];
        cached = new boolean[n];
        allocator.attach(this);
    }

    /** Hash of a block given its parent's hash (0 for the first block), its tokens and the tenant salt. */
    public static long blockHash(long parent, int[] tokens, int from, int blockSize, long salt) {
        long h = parent * 0x9E3779B97F4A7C15L + salt + 0x632BE59BD9B4E019L;
        for (int i = 0; i < blockSize; i++) {
            h ^= tokens[from + i] + 0x9E3779B97F4A7C15L + (h << 6) + (h >>> 2);
            h *= 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }

    /**
     * The cached blocks holding the longest prefix of {@code tokens[0..limit)} in whole blocks, each retained
     * for the caller. {@code hashes} receives the chain hashes of the blocks found.
     */
    public int[] match(int[] tokens, int limit, long salt, long[] hashes) {
        int full = limit / blockSize;
        int[] found = new int[full];
        int n = 0;
        long parent = 0;
        for (int i = 0; i < full; i++) {
            long h = blockHash(parent, tokens, i * blockSize, blockSize, salt);
            Integer b = blockByHash.get(h);
            if (b == null || parentOfBlock[b] != parent
                    || !Arrays.equals(tokensOfBlock[b], 0, blockSize, tokens, i * blockSize, (i + 1) * blockSize)) {
                break;
            }
            allocator.retain(b);
            found[n] = b;
            hashes[n] = h;
            n++;
            parent = h;
        }
        queries += full;
        hits += n;
        return Arrays.copyOf(found, n);
    }

    /** Indexes a just-filled block under its chain hash (first writer wins); false when it was not indexed. */
    public boolean register(int block, long hash, long parent, int[] tokens, int from) {
        if (cached[block] || blockByHash.containsKey(hash)) {
            return false;
        }
        blockByHash.put(hash, block);
        hashOfBlock[block] = hash;
        parentOfBlock[block] = parent;
        tokensOfBlock[block] = Arrays.copyOfRange(tokens, from, from + blockSize);
        cached[block] = true;
        if (events != null) {
            events.blockStored(hash, parent, tokens, from, blockSize);
        }
        return true;
    }

    /** Whether a block is cached under {@code hash} now (any thread; the answer may be stale when used). */
    public boolean contains(long hash) {
        return blockByHash.containsKey(hash);
    }

    int evictableCount() {
        return evictable.size();
    }

    /** Called by the allocator when a cached block loses its last holder. */
    boolean parkIfCached(int block) {
        if (!cached[block]) {
            return false;
        }
        evictable.add(block);
        return true;
    }

    /** Called by the allocator when a parked cached block is retained again. */
    boolean reclaim(int block) {
        return evictable.remove(block);
    }

    /** Forgets a held block (its keys were given up, so it can no longer serve a prefix); nothing if not cached. */
    void forget(int block) {
        if (!cached[block]) {
            return;
        }
        unindex(block);
    }

    /** Forgets the least recently used unheld cached block and returns it, or -1. */
    int evictLeastRecentlyUsed() {
        var it = evictable.iterator();
        if (!it.hasNext()) {
            return -1;
        }
        int b = it.next();
        it.remove();
        unindex(b);
        return b;
    }

    private void unindex(int b) {
        blockByHash.remove(hashOfBlock[b]);
        if (events != null) {
            events.blockRemoved(hashOfBlock[b]);
        }
        cached[b] = false;
        tokensOfBlock[b] = null;
    }

    /** Blocks found in the cache so far, out of full prompt blocks looked up. */
    public long hits() {
        return hits;
    }

    public long queries() {
        return queries;
    }

    public int cachedBlocks() {
        return blockByHash.size();
    }
}
