package io.stride.core.engine;

/**
 * A generation request for the {@link InferenceEngine}.
 *
 * @param topLogprobs -1: no log-probabilities; 0..20: the token's log-probability and that many alternatives
 * @param cacheSalt   separates tenants' prefix caches (0: shared)
 * @param speculation drafter name for this request: null = the engine's default, "none" = no speculation
 */
public record EngineRequest(String id, int[] prompt, GenerationParams params, int topLogprobs, long cacheSalt, TokenSink sink,
                            String speculation) {
    public EngineRequest(String id, int[] prompt, GenerationParams params, int topLogprobs, long cacheSalt, TokenSink sink) {
        this(id, prompt, params, topLogprobs, cacheSalt, sink, null);
    }

    public EngineRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (topLogprobs > 20) {
            throw new IllegalArgumentException("at most 20 top log-probabilities");
        }
    }
}
