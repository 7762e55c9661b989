package io.stride.core.engine;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.sampling.Sampler;
import io.stride.core.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Single-sequence generation on the batched forward pass: the prompt is prefilled in chunks, then one token
 * per step, streaming text as it becomes complete.
 */
public final class Generator {
    private final Model model;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final int contextLength;
    private final Batch batch = new Batch();
    private final float[] logits;

    public Generator(Model model, Transformer transformer, PagedKvCache cache, int contextLength) {
        this.model = model;
        this.transformer = transformer;
        this.cache = cache;
        this.contextLength = contextLength;
        this.logits = new float[model.config().vocab()];
    }

    public int contextLength() {
        return contextLength;
    }

    public GenerationResult generate(int[] prompt, GenerationParams params, Consumer<String> onText) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt: nothing to condition on (the model adds no BOS token)");
        }
        if (prompt.length >= contextLength) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of "
                    + contextLength + " tokens (one position must remain for generation)");
        }
        Tokenizer tok = model.tokenizer();
        int vocab = model.config().vocab();
        KvSequence seq = cache.newSequence();
        int limit = Math.min(contextLength, prompt.length + params.maxTokens());
        if (!cache.reserve(seq, limit)) {
            throw new IllegalStateException("KV cache too small for " + limit + " positions");
        }
        try {
            int[] history = Arrays.copyOf(prompt, limit + 1);
            long t0 = System.nanoTime();
            for (int start = 0; start < prompt.length; start += params.prefillChunk()) {
                int end = Math.min(prompt.length, start + params.prefillChunk());
                batch.clear();
                for (int i = start; i < end; i++) {
                    batch.add(prompt[i], i, seq, i == prompt.length - 1);
                }
                transformer.forward(batch, cache, logits);
            }
            long t1 = System.nanoTime();
            Sampler sampler = new Sampler(params.sampling(), vocab);
            TokenEmitter emitter = new TokenEmitter(tok, params, history, prompt.length, contextLength, onText);
            while (!emitter.finished()) {
                int next = sampler.sample(logits, 0, history, emitter.length());
                if (!emitter.accept(next)) {
                    break;
                }
                batch.clear();
                batch.add(next, emitter.length() - 1, seq, true);
                transformer.forward(batch, cache, logits);
            }
            return emitter.result(t1 - t0, System.nanoTime() - t1);
        } finally {
            cache.release(seq);
        }
    }
}
