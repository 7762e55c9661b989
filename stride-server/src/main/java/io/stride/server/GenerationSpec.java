package io.stride.server;

import io.stride.core.sampling.SamplingParams;

import java.util.List;

/**
 * A validated completion or chat request.
 *
 * @param maxTokens   null when the request gave none (the server default applies)
 * @param logprobs    -1: none; otherwise the number of alternatives per token (chat: top_logprobs)
 * @param speculation drafter for this request (Stride extension field {@code speculation}): null = server default, "none" = off
 */
public record GenerationSpec(String model, boolean stream, boolean includeUsage, Integer maxTokens, SamplingParams sampling,
                             List<String> stop, int logprobs, int n, long cacheSalt, boolean echo, String speculation) {
}
