package io.stride.core.engine;

/** Engine events for metrics and logs (called on the engine thread). All methods default to no-ops. */
public interface EngineListener {
    default void queued(String id, double queueSeconds) {}

    default void firstToken(String id, double ttftSeconds) {}

    default void interTokenLatency(double seconds) {}

    default void finished(String id, FinishReason reason, int promptTokens, int completionTokens, double e2eSeconds,
                          double ttftSeconds, int cachedPromptTokens) {}

    default void promptTokens(int n) {}

    default void generatedTokens(int n) {}

    default void prefixCacheHit(int blocks, int tokens) {}

    /**
     * The prefix cache indexed a full block: chain hash {@code hash}, its parent's ({@code 0}: the first block), its
     * tokens {@code tokens[from .. from + count)} (for KV-cache events, e.g. llm-d's prefix-aware routing).
     */
    default void blockStored(long hash, long parent, int[] tokens, int from, int count) {}

    /** The prefix cache forgot the block of chain hash {@code hash} (evicted for space). */
    default void blockRemoved(long hash) {}

    /** {@code blocks} of a prefix-cache hit came from the shared KV tier. */
    default void sharedKvHit(int blocks) {}

    default void preempted(String id) {}

    default void stepCompleted(int batchTokens, double seconds) {}

    /** A speculative verify step of drafter {@code method}: {@code drafted} tree nodes, {@code accepted} of them kept. */
    default void speculated(String method, int drafted, int accepted) {}
}
