package io.stride.core.engine;


/**
 * How a sequence ended.
 *
 * @param cachedPromptTokens prompt tokens whose keys and values came from the prefix cache
 * @param trailingText       text held back until the end (a partial character or a possible stop string)
 * @param stopString         the stop string that ended it, or null (an end-of-generation token, a limit, ...)
 * @param speculation        speculative decoding totals of the request (zeros without speculation)
 */
public record Finished(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens, String trailingText,
                       String stopString, Speculation speculation) {
    /**
     * Forward passes that gave a speculating request tokens (with or without a draft), drafted tree nodes and accepted
     * drafted tokens: tokens per step is (steps + accepted) / steps, the acceptance length as Medusa and EAGLE count it.
     * A constrained request counts its sampling passes as steps and its jump-forward tokens as drafted and accepted.
     */
    public record Speculation(long steps, long drafted, long accepted) {
        public static final Speculation NONE = new Speculation(0, 0, 0);

        public double acceptedPerStep() {
            return steps == 0 ? 0 : accepted / (double) steps;
        }
    }
}
