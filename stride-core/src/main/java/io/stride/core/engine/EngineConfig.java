package io.stride.core.engine;


/**
 * Scheduling limits of the continuous-batching engine.
 *
 * @param maxBatchTokens   tokens per forward pass (decode tokens first, then prompt chunks)
 * @param maxSequences     sequences running at once
 * @param maxQueue         requests waiting to start; beyond it submissions are refused
 * @param contextLength    positions per sequence
 * @param chunkedPrefill   split long prompts across steps (Sarathi-Serve); off: a prompt runs whole in one step
 * @param prefixCaching    reuse cached KV blocks of shared prompt prefixes
 * @param repetitionWindow end a request whose last this-many generated tokens repeat one short pattern (0: off)
 * @param jumpForward      append the text a request's grammar forces without sampling it (needs chunked prefill,
 *                         which feeds the forced tokens as a chunk)
 */
public record EngineConfig(int maxBatchTokens, int maxSequences, int maxQueue, int contextLength, boolean chunkedPrefill,
                           boolean prefixCaching, int repetitionWindow, boolean jumpForward) {
    public EngineConfig {
        if (maxBatchTokens < 1) throw new IllegalArgumentException("max batch tokens must be >= 1");
        if (maxSequences < 1) throw new IllegalArgumentException("max sequences must be >= 1");
        if (maxQueue < 0) throw new IllegalArgumentException("max queue must be >= 0");
        if (contextLength < 2) throw new IllegalArgumentException("context length must be >= 2");
        if (repetitionWindow != 0 && repetitionWindow < 8) {
            throw new IllegalArgumentException("the repetition guard window must be 0 (off) or at least 8 tokens, got " + repetitionWindow);
        }
    }

    public EngineConfig(int maxBatchTokens, int maxSequences, int maxQueue, int contextLength, boolean chunkedPrefill,
                        boolean prefixCaching) {
        this(maxBatchTokens, maxSequences, maxQueue, contextLength, chunkedPrefill, prefixCaching, 0);
    }

    public EngineConfig(int maxBatchTokens, int maxSequences, int maxQueue, int contextLength, boolean chunkedPrefill,
                        boolean prefixCaching, int repetitionWindow) {
        this(maxBatchTokens, maxSequences, maxQueue, contextLength, chunkedPrefill, prefixCaching, repetitionWindow, true);
    }
}
