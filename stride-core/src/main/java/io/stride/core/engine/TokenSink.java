package io.stride.core.engine;

/** Receives a sequence's output, on the engine thread: keep implementations quick and non-blocking. */
public interface TokenSink {
    void onToken(TokenEvent event);

    /** Called once at the end (also after cancellation) with the totals. */
    void onFinish(FinishReason reason, int promptTokens, int completionTokens, String trailingText);

    /** Called instead of onFinish when the request failed. */
    void onError(RuntimeException error);
}
