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

    default void preempted(String id) {}

    default void stepCompleted(int batchTokens, double seconds) {}

    /** A speculative verify step of drafter {@code method}: {@code drafted} tree nodes, {@code accepted} of them kept. */
    default void speculated(String method, int drafted, int accepted) {}
}
