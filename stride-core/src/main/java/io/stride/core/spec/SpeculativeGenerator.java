package io.stride.core.spec;

import io.stride.core.engine.FinishReason;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.StopMatcher;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.sampling.Sampler;
import io.stride.core.tokenizer.StreamingDecoder;
import io.stride.core.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Greedy speculative decoding with a chain of drafted tokens: each step feeds the last committed token and
 * the draft in one forward pass, keeps the draft while it equals the model's argmax, and adds the model's own
 * next token (the bonus). Rejected positions are dropped from the KV cache. Because the forward pass is
 * batch-invariant, the output is exactly what plain greedy decoding produces.
 */
public final class SpeculativeGenerator {
    /** Totals of a run: verify steps, drafted tokens and accepted drafted tokens. */
    public record Stats(long steps, long drafted, long accepted) {
        public double acceptedPerStep() {
            return steps == 0 ? 0 : accepted / (double) steps;
        }
    }

    private final Model model;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final int contextLength;
    private final Drafter drafter;
    private final int maxDraft;
    private final Batch batch = new Batch();
    private final float[] logits;
    private Stats lastStats = new Stats(0, 0, 0);

    public SpeculativeGenerator(Model model, Transformer transformer, PagedKvCache cache, int contextLength, Drafter drafter, int maxDraft) {
        if (maxDraft < 1) {
            throw new IllegalArgumentException("--spec-max must be >= 1");
        }
        this.model = model;
        this.transformer = transformer;
        this.cache = cache;
        this.contextLength = contextLength;
        this.drafter = drafter;
        this.maxDraft = maxDraft;
        this.logits = new float[(maxDraft + 1) * model.config().vocab()];
    }

    public Stats lastStats() {
        return lastStats;
    }

    public GenerationResult generate(int[] prompt, GenerationParams params, Consumer<String> onText) {
        if (!params.sampling().greedy()) {
            throw new IllegalArgumentException("speculative decoding supports greedy decoding (--temp 0) only so far");
        }
        if (prompt.length == 0 || prompt.length >= contextLength) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of " + contextLength);
        }
        Tokenizer tok = model.tokenizer();
        int vocab = model.config().vocab();
        int limit = Math.min(contextLength, prompt.length + params.maxTokens());
        KvSequence seq = cache.newSequence();
        if (!cache.reserve(seq, limit + maxDraft + 1)) {
            throw new IllegalStateException("KV cache too small for " + (limit + maxDraft + 1) + " positions");
        }
        long steps = 0, drafted = 0, accepted = 0;
        try {
            int[] history = Arrays.copyOf(prompt, limit + maxDraft + 1);
            int len = prompt.length;
            long t0 = System.nanoTime();
            for (int start = 0; start < prompt.length - 1; start += params.prefillChunk()) {
                int end = Math.min(prompt.length - 1, start + params.prefillChunk());
                batch.clear();
                for (int i = start; i < end; i++) batch.add(prompt[i], i, seq, false);
                transformer.forward(batch, cache, logits);
            }
            long t1 = System.nanoTime();
            Sampler sampler = new Sampler(params.sampling(), vocab);
            StreamingDecoder decoder = new StreamingDecoder(tok);
            StopMatcher stops = new StopMatcher(params.stop());
            StringBuilder text = new StringBuilder();
            int[] draft = new int[maxDraft];
            FinishReason reason = FinishReason.LENGTH;
            int generated = 0;
            // invariant: history[0 .. len) is committed; positions [0, len - 1) are in the cache
            outer:
            while (generated < params.maxTokens() && len < limit) {
                int room = Math.min(maxDraft, limit - len - 1);
                int k = room > 0 ? drafter.propose(history, len, room, draft) : 0;
                batch.clear();
                batch.add(history[len - 1], len - 1, seq, true);
                for (int i = 0; i < k; i++) batch.add(draft[i], len + i, seq, true);
                transformer.forward(batch, cache, logits);
                steps++;
                drafted += k;
                // walk the chain: row i predicts the token after history[len - 1 + i]
                for (int i = 0; i <= k; i++) {
                    int next = sampler.sample(logits, i * vocab, history, len);
                    if (tok.vocabulary().isEndOfGeneration(next)) {
                        reason = FinishReason.STOP;
                        break outer;
                    }
                    history[len++] = next;
                    generated++;
                    String piece = stops.accept(decoder.next(next));
                    if (!piece.isEmpty()) {
                        text.append(piece);
                        onText.accept(piece);
                    }
                    if (stops.stopped()) {
                        reason = FinishReason.STOP;
                        break outer;
                    }
                    if (generated >= params.maxTokens() || len >= limit) {
                        break outer;
                    }
                    if (i == k || next != draft[i]) {
                        break; // the draft diverged (or was used up): the model's token is the bonus
                    }
                    accepted++;
                }
                // keys and values of rejected draft positions are dropped; the last committed token is fed next step
                cache.truncate(seq, len - 1);
                cache.reserve(seq, limit + maxDraft + 1);
            }
            String tail = stops.accept(decoder.flush()) + stops.flush();
            if (!tail.isEmpty()) {
                text.append(tail);
                onText.accept(tail);
            }
            long t2 = System.nanoTime();
            lastStats = new Stats(steps, drafted, accepted);
            return new GenerationResult(Arrays.copyOfRange(history, prompt.length, len), text.toString(), reason, prompt.length, t1 - t0, t2 - t1);
        } finally {
            cache.release(seq);
        }
    }
}
