package io.stride.core.sampling;

import java.util.Map;

/**
 * How the next token is chosen. Temperature ≤ 0 means greedy. Penalties look at the last
 * {@code penaltyLastN} tokens of the context (prompt and output). Defaults follow llama.cpp.
 *
 * @param seed negative: a random seed
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repeatPenalty,
        int penaltyLastN,
        float frequencyPenalty,
        float presencePenalty,
        Map<Integer, Float> logitBias,
        long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 0f, 0f, Map.of(), 0);
    public static final SamplingParams DEFAULTS = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, Map.of(), -1);

    public SamplingParams {
        if (Float.isNaN(temperature) || temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        if (!(repeatPenalty > 0) || Float.isInfinite(repeatPenalty)) throw new IllegalArgumentException("repeat penalty must be > 0, got " + repeatPenalty);
        if (penaltyLastN < 0) throw new IllegalArgumentException("penalty window must be >= 0, got " + penaltyLastN);
        if (!Float.isFinite(frequencyPenalty) || !Float.isFinite(presencePenalty)) throw new IllegalArgumentException("penalties must be finite");
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
    }

    public boolean greedy() {
        return temperature <= 0;
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, penaltyLastN, frequencyPenalty, presencePenalty, logitBias, s);
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, repeatPenalty, penaltyLastN, frequencyPenalty, presencePenalty, logitBias, seed);
    }

    public SamplingParams withTruncation(int k, float p, float min) {
        return new SamplingParams(temperature, k, p, min, repeatPenalty, penaltyLastN, frequencyPenalty, presencePenalty, logitBias, seed);
    }

    public SamplingParams withPenalties(float repeat, int lastN, float frequency, float presence) {
        return new SamplingParams(temperature, topK, topP, minP, repeat, lastN, frequency, presence, logitBias, seed);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> bias) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, penaltyLastN, frequencyPenalty, presencePenalty, bias, seed);
    }
}
