package io.stride.core.engine;

import io.stride.core.grammar.GrammarException;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.PrefixCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.spec.DraftTree;
import io.stride.core.spec.StepCostModel;
import io.stride.core.spec.TreeVerifier;
import io.stride.core.tokenizer.StreamingDecoder;
import io.stride.core.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Runs one planned step of the engine: the forward pass over the batch, then for each slot in batch order the
 * prompt progress (and prefix-cache registration of full blocks), and for slots that asked for logits the next
 * token (sampled, or verified against a draft tree), committed by {@link StopRule}'s rule. Engine thread only.
 */
final class StepExecutor {
    private final Model model;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final PrefixCache prefixCache;
    private final Scheduler scheduler;
    private final EngineListener listener;
    private final int contextLength;
    private final float[] logits;
    private final float[] hiddenRow;
    private final TreeVerifier verifier;
    /** most bytes of forced text appended at once */
    private static final int MAX_FORCED_BYTES = 256;
    private final boolean jumpForward;
    /** the shared KV tier (null: none); set before the engine thread starts */
    TierLink tier;
    final StepCostModel costModel;

    StepExecutor(Model model, Transformer transformer, PagedKvCache cache, PrefixCache prefixCache, Scheduler scheduler,
                 EngineListener listener, int contextLength, int logitRows, StepCostModel costModel, boolean jumpForward) {
        this.model = model;
        this.transformer = transformer;
        this.cache = cache;
        this.prefixCache = prefixCache;
        this.scheduler = scheduler;
        this.listener = listener;
        this.contextLength = contextLength;
        this.logits = new float[logitRows * model.config().vocab()];
        this.hiddenRow = new float[model.config().dim()];
        this.verifier = new TreeVerifier(model.config().vocab());
        this.costModel = costModel;
        this.jumpForward = jumpForward;
    }

    void run(Batch batch, List<Scheduler.Slot> slots) {
        long t0 = System.nanoTime();
        transformer.forward(batch, cache, logits);
        long t1 = System.nanoTime();
        costModel.record(batch.size(), t1 - t0);
        listener.stepCompleted(batch.size(), (t1 - t0) / 1e9);
        int row = 0;
        int batchRow = 0;
        int vocab = model.config().vocab();
        for (Scheduler.Slot slot : slots) {
            Sequence s = slot.seq();
            int fed = slot.to() - slot.from();
            if (fed <= 0) {
                throw new IllegalStateException("empty slot");
            }
            int firstRow = batchRow;
            batchRow += fed + slot.drafted();
            if (slot.from() < s.promptLength) {
                listener.promptTokens(Math.min(slot.to(), s.promptLength) - slot.from());
            }
            if (s.embedding()) {
                pool(s, firstRow, slot.from(), slot.to());
                s.computed = slot.to();
                if (s.computed == s.promptLength) {
                    finishEmbedding(s, t1);
                }
                continue;
            }
            s.computed = slot.to();
            registerFullBlocks(s);
            giveBackPromptKeys(s);
            if (slot.sample()) {
                if (s.draftMethod != null || s.grammar != null) {
                    s.specSteps++; // every forward pass that gives the sequence tokens, drafted (forced) or not
                }
                if (slot.drafted() > 0) {
                    try {
                        if (verify(s, row, slot.from(), t1) && s.grammar != null && jumpForward) {
                            jumpForward(s, t1);
                        }
                    } catch (GrammarException e) {
                        fail(s, e);
                    }
                } else {
                    if (s.hidden != null) {
                        keepHidden(s, row);
                    }
                    try {
                        boolean live = emit(s, s.sampler.sample(logits, row * vocab, s.tokens, s.length, s.allowedTokens()), row * vocab, t1);
                        if (live && s.grammar != null && jumpForward) {
                            jumpForward(s, t1);
                        }
                    } catch (GrammarException e) {
                        fail(s, e); // a grammar too ambiguous to follow ends its own request only
                    }
                }
                row += 1 + slot.drafted();
            }
        }
    }

    private void registerFullBlocks(Sequence s) {
        if (prefixCache == null) {
            return;
        }
        int bs = cache.blockSize();
        // blocks holding sparse decode steps are not shared: a prompt computes the same tokens densely
        int shareable = s.sparse == null ? s.computed : Math.min(s.computed, s.promptLength);
        while ((s.hashedBlocks + 1) * bs <= shareable) {
            int i = s.hashedBlocks;
            long parent = i == 0 ? 0 : s.blockHashes[i - 1];
            long h = PrefixCache.blockHash(parent, s.tokens, i * bs, bs, s.request.cacheSalt());
            if (prefixCache.register(s.kv.block(i), h, parent, s.tokens, i * bs) && tier != null) {
                tier.publish(s, i, h, parent);
            }
            s.recordHash(h);
        }
    }

    /**
     * ShadowKV with keys in a pool of their own: once every layer has factored the prompt, the key blocks of the prompt
     * positions it reads from the factors go back to the pool (the prefix cache forgets those blocks).
     */
    private void giveBackPromptKeys(Sequence s) {
        io.stride.core.kv.ShadowKeys sk = s.kv.shadowKeys();
        if (sk != null && sk.complete() && s.kv.keysGivenBack() == 0 && cache.config().separateKeys()) {
            cache.dropPromptKeys(s.kv, sk.chunks() * sk.chunk());
        }
    }

    private void keepHidden(Sequence s, int row) {
        int dim = s.hidden.length;
        System.arraycopy(transformer.lastHidden(), row * dim, s.hidden, 0, dim);
        s.haveHidden = true;
    }

    /**
     * A speculative step of {@code s}: its root token (at {@code rootPos}) had logits row {@code row}, its tree nodes
     * the rows after it. Commits the accepted path and the bonus token, keeps their keys and values, drops the rest.
     * Returns false when the sequence finished.
     */
    private boolean verify(Sequence s, int row, int rootPos, long now) {
        int vocab = model.config().vocab();
        DraftTree tree = s.tree;
        int count = verifier.verify(tree, logits, row * vocab, s.sampler, s.tokens, s.length, s.grammar, s.draftStates, s.allowed);
        s.controller.record(tree.maxDepth(), count - 1);
        listener.speculated(s.draftMethod.name(), tree.size(), count - 1);
        s.specDrafted += tree.size();
        s.specAccepted += count - 1;
        if (s.hidden != null) {
            keepHidden(s, row + verifier.row(count - 1));
        }
        for (int j = 0; j < count - 1; j++) {
            cache.move(s.kv, rootPos + 1 + verifier.node(j), rootPos + 1 + j);
        }
        tree.clear();
        for (int j = 0; j < count; j++) {
            if (!emit(s, verifier.token(j), (row + verifier.row(j)) * vocab, now)) {
                return false; // finished
            }
        }
        s.computed = rootPos + count;
        cache.truncate(s.kv, s.computed);
        return true;
    }

    /**
     * Jump-forward: commits the tokens of the text the grammar forces next, to be fed as one chunk with the next
     * forward pass instead of being sampled one pass each. The forced text is tokenized on its own and its last token
     * is held back, so the model still chooses how the forced text joins what it writes next (the previous token is
     * never re-tokenized). No jump when the request wants logprobs (forced tokens have none) or when the tokens do not
     * spell the text byte for byte (a tokenizer that adds a leading space).
     */
    private void jumpForward(Sequence s, long now) {
        EngineRequest r = s.request;
        int room = Math.min(r.params().maxTokens() - s.generated(), contextLength - s.length) - 1;
        if (r.topLogprobs() >= 0 || room <= 0) {
            return;
        }
        byte[] forced = s.grammar.forcedBytes(MAX_FORCED_BYTES);
        int complete = StreamingDecoder.completePrefix(forced);
        if (complete == 0) {
            return;
        }
        Tokenizer tok = model.tokenizer();
        int[] ids = tok.encode(new String(forced, 0, complete, StandardCharsets.UTF_8), false, false);
        if (ids.length < 2) {
            return;
        }
        int at = 0;
        for (int id : ids) {
            byte[] b = tok.tokenBytes(id);
            if (at + b.length > complete || !Arrays.equals(b, 0, b.length, forced, at, at + b.length)) {
                return;
            }
            at += b.length;
        }
        if (at != complete) {
            return;
        }
        for (int i = 0; i < Math.min(ids.length - 1, room); i++) {
            s.specDrafted++;
            s.specAccepted++;
            if (!emit(s, ids[i], 0, now)) {
                return;
            }
        }
    }

    /** Commits token {@code next}, chosen from the logits at {@code off}; returns false when the sequence finished. */
    private boolean emit(Sequence s, int next, int off, long now) {
        EngineRequest r = s.request;
        float lp = Float.NaN;
        List<TokenEvent.TopLogprob> top = List.of();
        if (r.topLogprobs() >= 0) {
            float[] lse = {0};
            lp = Logprobs.logprob(logits, off, model.config().vocab(), next, lse);
            top = Logprobs.top(logits, off, model.config().vocab(), r.topLogprobs(), lse[0]);
        }
        if (StopRule.endsBefore(model.tokenizer().vocabulary(), next)) {
            finish(s, FinishReason.STOP, now);
            return false;
        }
        if (s.grammar != null && !s.grammar.accept(next)) {
            throw new IllegalStateException("token " + next + " is outside the request's grammar");
        }
        s.append(next);
        listener.generatedTokens(1);
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = now;
            listener.firstToken(s.id(), (now - s.arrivalNanos) / 1e9);
        } else {
            listener.interTokenLatency((now - s.lastTokenNanos) / 1e9);
        }
        s.lastTokenNanos = now;
        String text = s.stops.accept(s.decoder.next(next));
        r.sink().onToken(new TokenEvent(next, text, lp, top));
        FinishReason end = StopRule.after(s, next, contextLength);
        if (end != null) {
            finish(s, end, now);
            return false;
        }
        return true;
    }

    private void fail(Sequence s, RuntimeException e) {
        scheduler.retire(s);
        s.closeDrafter();
        s.state = Sequence.State.FINISHED;
        s.request.sink().onError(e);
    }

    void finish(Sequence s, FinishReason reason, long now) {
        scheduler.retire(s);
        s.end(reason, now, listener);
    }

    /** Adds the final hidden states of positions [from, to), batch rows from {@code firstRow}, to an embedding's pool. */
    private void pool(Sequence s, int firstRow, int from, int to) {
        float[] h = hiddenRow;
        for (int p = from; p < to; p++) {
            transformer.finalHidden(firstRow + p - from, h, 0);
            if (s.request.pooling() == Pooling.LAST) {
                for (int j = 0; j < h.length; j++) s.pooled[j] = h[j];
            } else {
                for (int j = 0; j < h.length; j++) s.pooled[j] += h[j];
            }
            s.pooledRows++;
        }
    }

    /** The embedding is complete: scale the pooled state to unit length, hand it over and end the sequence. */
    private void finishEmbedding(Sequence s, long now) {
        int dim = s.pooled.length;
        double scale = s.request.pooling() == Pooling.MEAN ? 1.0 / s.pooledRows : 1.0;
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            double v = s.pooled[j] * scale;
            norm += v * v;
        }
        double unit = norm > 0 ? scale / Math.sqrt(norm) : 0;
        float[] v = new float[dim];
        for (int j = 0; j < dim; j++) {
            v[j] = (float) (s.pooled[j] * unit);
        }
        s.request.sink().onEmbedding(v);
        finish(s, FinishReason.STOP, now);
    }
}
