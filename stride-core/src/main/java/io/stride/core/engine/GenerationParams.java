package io.stride.core.engine;

import io.stride.core.grammar.TokenGrammar;
import io.stride.core.sampling.SamplingParams;

import java.util.List;

/**
 * One generation request.
 *
 * @param maxTokens most tokens to generate
 * @param sampling  how to pick tokens
 * @param stop      stop strings (not emitted)
 * @param grammar   the grammar every output must follow (null: free text); the output ends when it is complete
 */
public record GenerationParams(int maxTokens, SamplingParams sampling, List<String> stop, TokenGrammar grammar) {
    public GenerationParams(int maxTokens, SamplingParams sampling, List<String> stop) {
        this(maxTokens, sampling, stop, null);
    }

    public GenerationParams {
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public static GenerationParams greedy(int maxTokens) {
        return new GenerationParams(maxTokens, SamplingParams.GREEDY, List.of());
    }
}
