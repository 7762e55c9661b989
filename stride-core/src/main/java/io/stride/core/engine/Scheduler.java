package io.stride.core.engine;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.PrefixCache;
import io.stride.core.model.Batch;
import io.stride.core.spec.DraftTree;
import io.stride.core.spec.StepCostModel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Decides what each engine step computes (continuous batching with stall-free chunked prefill, as in
 * Sarathi-Serve): first one decode token for every running sequence, then prompt chunks of partially
 * prefilled and waiting sequences up to the token budget. When KV blocks run out, the newest running
 * sequence is preempted: its blocks are freed and it is recomputed later.
 */
final class Scheduler {
    /**
     * Part of the step: a sequence's tokens [from, to) are fed; logits wanted for the last one when {@code sample};
     * {@code drafted} speculative tree nodes follow it in the batch (their logits too).
     */
    record Slot(Sequence seq, int from, int to, boolean sample, int drafted) {
        Slot(Sequence seq, int from, int to, boolean sample) {
            this(seq, from, to, sample, 0);
        }
    }

    private final EngineConfig config;
    private final PagedKvCache cache;
    private final PrefixCache prefixCache;
    private final EngineListener listener;
    final Deque<Sequence> waiting = new ArrayDeque<>();
    final List<Sequence> running = new ArrayList<>();
    private long preemptions;
    private final StepCostModel costModel;
    private final int specTokenCap;
    /** the shared KV tier (null: none); set before the engine thread starts */
    TierLink tier;

    Scheduler(EngineConfig config, PagedKvCache cache, PrefixCache prefixCache, EngineListener listener, StepCostModel costModel,
              int specTokenCap) {
        this.config = config;
        this.cache = cache;
        this.prefixCache = prefixCache;
        this.listener = listener;
        this.costModel = costModel;
        this.specTokenCap = specTokenCap;
    }

    long preemptions() {
        return preemptions;
    }

    /** Fills {@code batch} and {@code slots} for one step; both empty when there is nothing to do. */
    void plan(Batch batch, List<Slot> slots) {
        batch.clear();
        slots.clear();
        if (!config.chunkedPrefill()) {
            // classic scheduling: a step either prefills whole prompts (first, as they arrive) or decodes
            admitWaiting(batch, slots, config.maxBatchTokens());
            if (!slots.isEmpty()) {
                return;
            }
        }
        int budget = config.maxBatchTokens();
        int decoding = 0;
        for (Sequence s : running) {
            if (s.pending() == 1 && !s.embedding()) decoding++;
        }
        int specLeft = specTokenCap;
        // 1. decode: every running sequence whose prompt is done gets its next token (and maybe a draft tree)
        for (int i = 0; i < running.size(); i++) {
            Sequence s = running.get(i);
            if (s.pending() != 1 || s.embedding()) {
                continue;
            }
            while (!cache.reserve(s.kv, s.computed + 1)) {
                Sequence victim = running.getLast();
                preempt(victim);
                if (victim == s) {
                    break;
                }
            }
            if (s.state != Sequence.State.RUNNING) {
                i--;
                continue;
            }
            int root = batch.size();
            batch.add(s.tokens[s.computed], s.computed, s.kv, true);
            batch.setSparse(root, s.sparse);
            budget--;
            int drafted = s.drafter == null ? 0 : draft(s, decoding, Math.min(specLeft, budget));
            for (int n = 0; n < drafted; n++) {
                int parent = s.tree.parent(n) == DraftTree.ROOT ? root : root + 1 + s.tree.parent(n);
                batch.addTreeNode(s.tree.token(n), s.computed + 1 + n, s.computed + s.tree.depth(n), s.kv, true, parent);
                batch.setSparse(batch.size() - 1, s.sparse);
            }
            budget -= drafted;
            specLeft -= drafted;
            slots.add(new Slot(s, s.computed, s.computed + 1, true, drafted));
        }
        if (!config.chunkedPrefill()) {
            return;
        }
        // 2. stall-free chunked prefill: prompt chunks of running sequences still prefilling, oldest first,
        //    then new ones from the queue, within what is left of the token budget
        for (Sequence s : running) {
            if (budget <= 0) {
                return;
            }
            if ((s.pending() > 1 || s.embedding()) && !inBatch(slots, s)) {
                budget = addChunk(s, batch, slots, budget);
            }
        }
        admitWaiting(batch, slots, budget);
    }

    /** Asks the sequence's drafter for a tree of at most what the controller, the limits and the KV cache allow. */
    private int draft(Sequence s, int decoding, int cap) {
        int remaining = Math.min(s.request.params().maxTokens() - s.generated(), config.contextLength() - s.length);
        int n;
        try {
            n = s.controller.draft(s.drafter, s.draftMethod, s.tokens, s.length, Math.min(cap, remaining - 1), s.tree,
                    s.haveHidden ? s.hidden : null, costModel, decoding);
        } catch (RuntimeException e) {
            // a failing drafter costs the request its speculation, never its output
            s.closeDrafter();
            s.tree.clear();
            return 0;
        }
        if (n > 0 && s.grammar != null) {
            s.cutDraftToGrammar();
            n = s.tree.size();
        }
        if (n > 0 && cache.config().zipped()) {
            // ZipCache: drafts stay in the root's block short of its last position, so no draft closes a block
            n = s.tree.keepDepth(io.stride.core.kv.ZipOptions.BLOCK - 2 - s.computed % io.stride.core.kv.ZipOptions.BLOCK);
        }
        if (n > 0 && !cache.reserve(s.kv, s.computed + 1 + n)) {
            s.tree.clear(); // no KV room for a draft now: decode plainly
        }
        return s.tree.size();
    }

    private static boolean inBatch(List<Slot> slots, Sequence s) {
        for (Slot x : slots) {
            if (x.seq() == s) {
                return true;
            }
        }
        return false;
    }

    /** Starts waiting sequences while the budget and KV cache allow (without chunking, whole prompts; the first always). */
    private void admitWaiting(Batch batch, List<Slot> slots, int budget) {
        while (!waiting.isEmpty() && running.size() < config.maxSequences() && budget > 0) {
            Sequence s = waiting.peekFirst();
            if (!config.chunkedPrefill() && s.pending() > budget && !slots.isEmpty()) {
                return; // a whole prompt that does not fit this step waits for the next
            }
            admit(s);
            int before = budget;
            budget = addChunk(s, batch, slots, budget);
            if (budget == before) {
                // no KV blocks for it now: undo and wait
                cache.release(s.kv);
                s.kv = null;
                s.computed = 0;
                s.hashedBlocks = 0;
                running.remove(s);
                s.state = Sequence.State.WAITING;
                return;
            }
            waiting.pollFirst();
        }
    }

    private void admit(Sequence s) {
        s.state = Sequence.State.RUNNING;
        s.openDrafter();
        s.kv = cache.newSequence();
        s.computed = 0;
        s.hashedBlocks = 0;
        if (s.startNanos == 0) {
            s.startNanos = System.nanoTime();
        }
        if (s.embedding()) {
            s.pooledRows = 0; // (re)computed from the first position: pool afresh
            java.util.Arrays.fill(s.pooled, 0);
        } else if (prefixCache != null) {
            // reuse cached blocks of the longest shared prefix; the last token is always computed (its logits are needed);
            // a sparse sequence readmitted after preemption stops at its prompt: cached blocks past it hold dense decode steps
            int reusable = s.sparse == null ? s.length - 1 : Math.min(s.length - 1, s.promptLength);
            long[] hashes = new long[s.length / cache.blockSize() + 1];
            int[] blocks = prefixCache.match(s.tokens, reusable, s.request.cacheSalt(), hashes);
            if (tier != null) {
                blocks = tier.extend(s, blocks, hashes);
            }
            if (blocks.length > 0) {
                // a partial tail from the shared tier ends the table: it holds tailLength positions and no prefix hash
                int full = s.tailLength > 0 ? blocks.length - 1 : blocks.length;
                int positions = full * cache.blockSize() + s.tailLength;
                cache.attach(s.kv, blocks, positions);
                s.computed = positions;
                for (int i = 0; i < full; i++) {
                    s.recordHash(hashes[i]);
                }
                if (s.generated() == 0) {
                    s.cachedPromptTokens = positions;
                }
                listener.prefixCacheHit(blocks.length, positions);
                if (s.tierBlocks > 0) {
                    listener.sharedKvHit(s.tierBlocks);
                    s.tierBlocks = 0;
                }
            }
        }
        running.add(s);
    }

    private int addChunk(Sequence s, Batch batch, List<Slot> slots, int budget) {
        int want = s.pending();
        int n = config.chunkedPrefill() ? Math.min(want, budget) : want;
        if (n <= 0 || !cache.reserve(s.kv, s.computed + n)) {
            return budget;
        }
        int from = s.computed;
        int to = from + n;
        boolean sample = to == s.length && !s.embedding();
        for (int p = from; p < to; p++) {
            batch.add(s.tokens[p], p, s.kv, sample && p == to - 1);
            if (p >= s.promptLength) {
                // generated tokens fed again (after preemption, or forced by a grammar) are decode steps as before
                batch.setSparse(batch.size() - 1, s.sparse);
            }
        }
        slots.add(new Slot(s, from, to, sample));
        return budget - n;
    }

    /** Takes a sequence out of the running set for good and gives back its KV blocks (its end is reported apart). */
    void retire(Sequence s) {
        running.remove(s);
        if (s.kv != null && tier != null) {
            tier.publishTail(s);
        }
        if (s.kv != null) {
            cache.release(s.kv);
            s.kv = null;
        }
    }

    /** Frees a running sequence's blocks and puts it back at the head of the queue, to be recomputed. */
    void preempt(Sequence s) {
        running.remove(s);
        cache.release(s.kv);
        s.kv = null;
        s.computed = 0;
        s.hashedBlocks = 0;
        s.state = Sequence.State.WAITING;
        waiting.addFirst(s);
        preemptions++;
        listener.preempted(s.id());
    }
}
