package io.stride.core.engine;


/** Receives a sequence's output, on the engine thread: keep implementations quick and non-blocking. */
public interface TokenSink {
    void onToken(TokenEvent event);

    /** Called once at the end (also after cancellation) with the totals. */
    void onFinish(Finished finished);

    /** Called instead of onFinish when the request failed. */
    void onError(RuntimeException error);

    /** An embedding request's vector (unit length), just before its {@link #onFinish}. */
    default void onEmbedding(float[] vector) {
        throw new UnsupportedOperationException("this sink does not take embeddings");
    }
}
