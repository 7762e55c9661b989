package io.stride.core.engine;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Model;

/** What {@link InferenceEngine#submit} checks before a request takes a queue slot: it fits and its ids are the model's. */
final class RequestChecks {
    private RequestChecks() {}

    /** Throws {@link IllegalArgumentException} naming what is wrong; {@code diffusion}: the engine decodes a diffusion model. */
    static void check(EngineRequest r, EngineConfig config, PagedKvCache cache, Model model, boolean diffusion) {
        int total = r.prompt().length + r.params().maxTokens();
        if (r.pooling() != null) {
            if (r.prompt().length > config.contextLength()) {
                throw new IllegalArgumentException("the input has " + r.prompt().length + " tokens; the context holds "
                        + config.contextLength());
            }
        } else if (r.prompt().length >= config.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + r.prompt().length + " tokens; the context holds "
                    + config.contextLength() + " and at least one must remain for the completion");
        }
        if (total > config.contextLength()) {
            throw new IllegalArgumentException("prompt (" + r.prompt().length + " tokens) plus max_tokens (" + r.params().maxTokens()
                    + ") exceeds the context length of " + config.contextLength() + " tokens");
        }
        if (!diffusion && cache.blocksFor(total) > cache.usableBlocks()) {
            throw new IllegalArgumentException("the request needs " + cache.blocksFor(total) + " KV blocks but the cache has only "
                    + cache.usableBlocks());
        }
        for (int t : r.prompt()) {
            if (t < 0 || t >= model.config().vocab()) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary [0, " + model.config().vocab() + ")");
            }
        }
        if (r.params().grammar() != null && r.params().grammar().vocab() != model.config().vocab()) {
            throw new IllegalArgumentException("the grammar was compiled for a vocabulary of " + r.params().grammar().vocab()
                    + " tokens; the model has " + model.config().vocab());
        }
    }
}
