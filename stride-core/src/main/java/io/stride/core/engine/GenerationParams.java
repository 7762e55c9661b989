package io.stride.core.engine;

import io.stride.core.sampling.SamplingParams;

import java.util.List;

/**
 * One generation request.
 *
 * @param maxTokens    most tokens to generate
 * @param sampling     how to pick tokens
 * @param stop         stop strings (not emitted)
 * @param prefillChunk most prompt tokens per forward pass
 */
public record GenerationParams(int maxTokens, SamplingParams sampling, List<String> stop, int prefillChunk) {
    public GenerationParams {
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk must be >= 1, got " + prefillChunk);
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public static GenerationParams greedy(int maxTokens) {
        return new GenerationParams(maxTokens, SamplingParams.GREEDY, List.of(), 256);
    }
}
