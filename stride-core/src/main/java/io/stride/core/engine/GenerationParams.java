package io.stride.core.engine;

import io.stride.core.sampling.SamplingParams;

import java.util.List;

/**
 * One generation request.
 *
 * @param maxTokens most tokens to generate
 * @param sampling  how to pick tokens
 * @param stop      stop strings (not emitted)
 */
public record GenerationParams(int maxTokens, SamplingParams sampling, List<String> stop) {
    public GenerationParams {
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public static GenerationParams greedy(int maxTokens) {
        return new GenerationParams(maxTokens, SamplingParams.GREEDY, List.of());
    }
}
