package io.stride.core.engine;


/**
 * A generation request for the {@link InferenceEngine}.
 *
 * @param topLogprobs -1: no log-probabilities; 0..20: the token's log-probability and that many alternatives
 * @param cacheSalt   separates tenants' prefix caches (0: shared)
 * @param speculation drafter name for this request: null = the engine's default, "none" = no speculation
 * @param pooling     non-null: an embedding request, which computes its prompt and pools the hidden states instead of
 *                    generating (params.maxTokens() must be 0)
 * @param sparseAttention sparse attention of the decode steps ({@link io.stride.core.sparse.SparseAttention#parse}):
 *                    null = the engine's default, "none" = dense
 */
public record EngineRequest(String id, int[] prompt, GenerationParams params, int topLogprobs, long cacheSalt, TokenSink sink,
                            String speculation, Pooling pooling, String sparseAttention) {
    public EngineRequest(String id, int[] prompt, GenerationParams params, int topLogprobs, long cacheSalt, TokenSink sink,
                         String speculation, Pooling pooling) {
        this(id, prompt, params, topLogprobs, cacheSalt, sink, speculation, pooling, null);
    }

    public EngineRequest(String id, int[] prompt, GenerationParams params, int topLogprobs, long cacheSalt, TokenSink sink) {
        this(id, prompt, params, topLogprobs, cacheSalt, sink, null, null);
    }

    public EngineRequest(String id, int[] prompt, GenerationParams params, int topLogprobs, long cacheSalt, TokenSink sink,
                         String speculation) {
        this(id, prompt, params, topLogprobs, cacheSalt, sink, speculation, null);
    }

    /** An embedding request for {@code prompt}. */
    public static EngineRequest embedding(String id, int[] prompt, Pooling pooling, TokenSink sink) {
        return new EngineRequest(id, prompt, GenerationParams.greedy(0), -1, 0, sink, "none", pooling);
    }

    public EngineRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (topLogprobs > 20) {
            throw new IllegalArgumentException("at most 20 top log-probabilities");
        }
        if (pooling != null && (params.maxTokens() != 0 || topLogprobs >= 0)) {
            throw new IllegalArgumentException("an embedding request generates nothing: max tokens 0, no log-probabilities");
        }
    }
}
