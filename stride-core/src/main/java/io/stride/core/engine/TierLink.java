package io.stride.core.engine;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.PrefixCache;
import io.stride.core.kv.tier.KvHandoff;
import io.stride.core.kv.tier.KvTier;
import io.stride.core.kv.tier.PromptChains;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Connects the engine to a shared {@link KvTier}. Before a request joins the queue, a virtual thread hands its prompt
 * to the prefill side (disaggregated serving) and fetches the records of the prompt's full blocks that the local
 * prefix cache lacks ({@link #prepare}); at admission the records that continue the local match are installed into
 * fresh blocks and indexed like computed ones ({@link #extend}); every block the engine computes and indexes is
 * published ({@link #publish}). Reused blocks hold the bits this engine would compute (batch-invariant kernels, same
 * model file, cache types and block size, checked per record), so output does not depend on where a block came from.
 */
final class TierLink {
    private static final Logger LOG = LoggerFactory.getLogger(TierLink.class);

    private final KvTier tier;
    private final PagedKvCache cache;
    private final PrefixCache prefix;
    private final ExecutorService fetchers = Executors.newVirtualThreadPerTaskExecutor();

    TierLink(KvTier tier, PagedKvCache cache, PrefixCache prefix) {
        if (prefix == null) {
            throw new IllegalArgumentException("a shared KV tier needs the prefix cache");
        }
        this.tier = tier;
        this.cache = cache;
        this.prefix = prefix;
    }

    /** Positions of a sequence's prompt that may be reused: all but the last token (its logits are needed). */
    private static int reusablePositions(Sequence s) {
        return s.embedding() ? 0 : s.promptLength - 1;
    }

    /** Hands off and fetches {@code s}'s prompt off the engine thread, then runs {@code queue} (always, once). */
    void prepare(Sequence s, Runnable queue) {
        int positions = reusablePositions(s);
        if (positions < cache.blockSize()) {
            queue.run(); // nothing worth a round trip
            return;
        }
        fetchers.execute(() -> {
            try {
                long salt = s.request.cacheSalt();
                PromptChains chains = PromptChains.of(s.tokens, positions, cache.blockSize(), salt);
                KvHandoff handoff = tier.handoff();
                if (handoff != null && (localPrefix(chains.hash()) < chains.blocks() || chains.tailLength() > 0) && !s.cancelled) {
                    try {
                        handoff.prefill(Arrays.copyOf(s.tokens, s.promptLength), salt);
                    } catch (Exception e) {
                        LOG.warn("{}: prefill handoff to {} failed ({}); computing the prompt here", s.id(), handoff.describe(), e.toString());
                    }
                }
                int from = localPrefix(chains.hash());
                s.republish = s.cancelled ? null : tier.absent(chains, from, salt);
                s.fetched = s.cancelled ? KvTier.Fetched.NONE : tier.fetch(s.tokens, chains, from, salt);
                s.fetchedFrom = from;
                s.tierChains = chains;
            } catch (RuntimeException e) {
                LOG.warn("{}: shared KV fetch failed ({})", s.id(), e.toString());
            } finally {
                queue.run();
            }
        });
    }

    /** Leading blocks of a chain in the local prefix cache now. */
    private int localPrefix(long[] hashes) {
        int k = 0;
        while (k < hashes.length && prefix.contains(hashes[k])) {
            k++;
        }
        return k;
    }

    /**
     * Appends to the {@code blocks} the local prefix cache matched the fetched records that continue them, each in a
     * fresh block indexed in the prefix cache ({@code hashes} receives their chain hashes), then the prompt's partial
     * tail when every full block is there (not indexed: it is not full; {@code s.tailLength} says how many positions
     * it holds). Engine thread.
     */
    int[] extend(Sequence s, int[] blocks, long[] hashes) {
        KvTier.Fetched got = s.fetched;
        PromptChains c = s.tierChains;
        s.fetched = null;
        s.tailLength = 0;
        if (got != null) {
            got.release(); // installed below or never: the bytes stop counting either way
        }
        if (s.republish != null && c != null) {
            // local blocks the store lost: published again, so that other replicas find them
            for (int i : s.republish) {
                if (i < blocks.length) {
                    tier.publish(cache, blocks[i], s.request.cacheSalt(), c.hash()[i], c.parent(i), c.check()[i], s.tokens, i * cache.blockSize());
                }
            }
            s.republish = null;
        }
        if (got == null || c == null || blocks.length < s.fetchedFrom || (got.blocks().isEmpty() && got.tail() == null)) {
            return blocks;
        }
        int end = s.fetchedFrom + got.blocks().size();
        int[] out = Arrays.copyOf(blocks, Math.max(blocks.length, end) + 1);
        int n = blocks.length, bs = cache.blockSize();
        for (int i = blocks.length; i < end; i++) {
            int b = cache.allocator().allocate();
            if (b < 0) {
                break;
            }
            got.blocks().get(i - s.fetchedFrom).install(cache, b);
            prefix.register(b, c.hash()[i], c.parent(i), s.tokens, i * bs);
            hashes[i] = c.hash()[i];
            out[n++] = b;
        }
        int full = n;
        if (got.tail() != null && full == c.blocks()) {
            int b = cache.allocator().allocate();
            if (b >= 0) {
                got.tail().install(cache, b);
                out[n++] = b;
                s.tailLength = c.tailLength();
                s.tailFromTier = true;
            }
        }
        s.tierBlocks = n - blocks.length;
        return Arrays.copyOf(out, n);
    }

    /**
     * Publishes the partial last block of {@code s}'s prompt (positions after its last full block, but the last token)
     * as it leaves the engine, so that a decode server given the same prompt computes only the last token. Skipped
     * when that block came from the tier or was never computed. Engine thread, before the blocks are released.
     */
    void publishTail(Sequence s) {
        int positions = reusablePositions(s), bs = cache.blockSize();
        int full = positions / bs, tail = positions % bs;
        if (tail == 0 || full == 0 || s.tailFromTier || s.kv == null || s.computed < positions || s.kv.blockCount() <= full
                || cache.allocator().keyBlock(s.kv.block(full)) < 0) { // a block that gave its keys back (ShadowKV) stays here
            return;
        }
        long salt = s.request.cacheSalt();
        PromptChains c = s.tierChains != null ? s.tierChains : PromptChains.of(s.tokens, positions, bs, salt);
        tier.publishTail(cache, s.kv.block(full), salt, c.tailHash(), c.parent(full), c.tailCheck(), s.tokens, full * bs, tail);
    }

    /** Publishes block {@code i} of {@code s}, just computed and indexed under {@code hash}. Engine thread. */
    void publish(Sequence s, int i, long hash, long parent) {
        int bs = cache.blockSize();
        long salt = s.request.cacheSalt();
        if (s.checks == null || s.checks.length <= i) {
            s.checks = Arrays.copyOf(s.checks == null ? new long[0] : s.checks, Math.max(i + 1, 2 * (s.checks == null ? 4 : s.checks.length)));
        }
        while (s.checked <= i) {
            long c = s.checked == 0 ? 0 : s.checks[s.checked - 1];
            s.checks[s.checked] = PrefixCache.blockHash(c, s.tokens, s.checked * bs, bs, salt ^ KvTier.CHECK_SALT);
            s.checked++;
        }
        tier.publish(cache, s.kv.block(i), salt, hash, parent, s.checks[i], s.tokens, i * bs);
    }

    KvTier tier() {
        return tier;
    }

    void close() {
        fetchers.shutdownNow();
        tier.close();
    }
}
