package io.stride.core.engine;


/**
 * What a generation produced, with timings.
 *
 * @param tokens       generated token ids (an end-of-generation token is not included)
 * @param text         generated text (stop string excluded)
 * @param promptNanos  time from submission to the first generated token (queueing, prefill, first logits)
 * @param decodeNanos  time spent generating tokens after the first
 * @param speculation  speculative decoding totals (zeros without speculation)
 */
public record GenerationResult(int[] tokens, String text, FinishReason finishReason, int promptTokens,
                               long promptNanos, long decodeNanos, Finished.Speculation speculation) {

    public double promptTokensPerSecond() {
        return promptNanos == 0 ? 0 : promptTokens * 1e9 / promptNanos;
    }

    /** Generation speed over tokens after the first (each needed one forward pass). */
    public double decodeTokensPerSecond() {
        int n = Math.max(0, tokens.length - 1);
        return decodeNanos == 0 ? 0 : n * 1e9 / decodeNanos;
    }
}
