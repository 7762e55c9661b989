package io.stride.server;

import io.stride.core.sampling.SamplingParams;

import java.util.List;

/**
 * A validated completion or chat request.
 *
 * @param maxTokens   null when the request gave none (the server default applies); at most the server's cap
 * @param maxTokensRequested what the request asked for, before the cap (for messages)
 * @param logprobs    -1: none; otherwise the number of alternatives per token (chat: top_logprobs)
 * @param speculation drafter for this request (Stride extension field {@code speculation}): null = server default, "none" = off
 * @param grammar     the grammar the output must follow and the field that asked for it (null: free text)
 * @param tools       the chat request's tools (null: none)
 * @param sparseAttention sparse attention of the decode steps (Stride extension field {@code sparse_attention}, as
 *                    {@code --sparse-attention} spells it): null = server default, "none" = dense
 */
public record GenerationSpec(String model, boolean stream, boolean includeUsage, Integer maxTokens, Integer maxTokensRequested,
                             SamplingParams sampling, List<String> stop, int logprobs, int n, long cacheSalt, boolean echo,
                             String speculation, StructuredOutput.Constraint grammar, ToolRequest tools, String sparseAttention) {
    /** The same request with {@code extra} stop strings after its own. */
    public GenerationSpec withExtraStops(List<String> extra) {
        List<String> all = new java.util.ArrayList<>(stop);
        for (String s : extra) {
            if (!all.contains(s)) all.add(s);
        }
        return new GenerationSpec(model, stream, includeUsage, maxTokens, maxTokensRequested, sampling, all, logprobs, n, cacheSalt,
                echo, speculation, grammar, tools, sparseAttention);
    }

    /** The same request with its output constrained by {@code c}. */
    public GenerationSpec withGrammar(StructuredOutput.Constraint c) {
        return new GenerationSpec(model, stream, includeUsage, maxTokens, maxTokensRequested, sampling, stop, logprobs, n, cacheSalt,
                echo, speculation, c, tools, sparseAttention);
    }
}
