package io.stride.core.engine;

/**
 * How a sequence ended.
 *
 * @param cachedPromptTokens prompt tokens whose keys and values came from the prefix cache
 * @param trailingText       text held back until the end (a partial character or a possible stop string)
 * @param stopString         the stop string that ended it, or null (an end-of-generation token, a limit, ...)
 */
public record Finished(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens, String trailingText,
                       String stopString) {
}
