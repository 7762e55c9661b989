package io.stride.core.kv.tier;

import io.stride.core.kv.PrefixCache;

/**
 * Where the blocks of a prompt's reusable positions sit in the shared tier: the chain hashes (the prefix cache's) and
 * check hashes (an independent chain, {@link KvTier#CHECK_SALT}) of its full blocks, and of the partial block after
 * them ({@code tailLength} positions, 0: none), whose record carries the rest of the prompt's keys and values so a
 * decode server need compute only the last token.
 */
public record PromptChains(long[] hash, long[] check, int tailLength, long tailHash, long tailCheck) {
    /** The chains of positions [0, positions) of {@code tokens} in blocks of {@code blockSize}, tenant {@code salt}. */
    public static PromptChains of(int[] tokens, int positions, int blockSize, long salt) {
        int blocks = positions / blockSize, tail = positions % blockSize;
        long[] hash = new long[blocks], check = new long[blocks];
        long h = 0, c = 0;
        for (int i = 0; i < blocks; i++) {
            h = PrefixCache.blockHash(h, tokens, i * blockSize, blockSize, salt);
            c = PrefixCache.blockHash(c, tokens, i * blockSize, blockSize, salt ^ KvTier.CHECK_SALT);
            hash[i] = h;
            check[i] = c;
        }
        long th = 0, tc = 0;
        if (tail > 0) {
            th = PrefixCache.blockHash(h, tokens, blocks * blockSize, tail, salt);
            tc = PrefixCache.blockHash(c, tokens, blocks * blockSize, tail, salt ^ KvTier.CHECK_SALT);
        }
        return new PromptChains(hash, check, tail, th, tc);
    }

    public int blocks() {
        return hash.length;
    }

    /** The chain hash before block {@code i} (0 for the first). */
    public long parent(int i) {
        return i == 0 ? 0 : hash[i - 1];
    }
}
