package io.stride.core.diffusion;

/**
 * Which masked positions a step unmasks first: llama-diffusion-cli's {@code --diffusion-algorithm} values, same numbers.
 * Every rule but {@link #ORIGIN} samples every masked position of the block and keeps the highest-scoring ones.
 */
public enum Remasking {
    /** Each masked position is unmasked with probability (scheduled count / masked), in random order (D3PM). */
    ORIGIN,
    /** Lowest entropy of the position's distribution first (Dream). */
    ENTROPY,
    /** Largest gap between the two most probable tokens first. */
    MARGIN,
    /** Uniformly random order. */
    RANDOM,
    /** Highest probability of the sampled token first (LLaDA's low-confidence remasking). */
    CONFIDENCE;

    /** The rule with llama.cpp's number {@code n} (0..4), or an error naming the option. */
    public static Remasking ofNumber(int n, String option) {
        if (n < 0 || n >= values().length) {
            throw new IllegalArgumentException(option + " must be 0..4 (0 origin, 1 entropy, 2 margin, 3 random, 4 confidence), got " + n);
        }
        return values()[n];
    }

    /** The rule called {@code name} (case-insensitive) or numbered {@code name}, or an error naming the option. */
    public static Remasking parse(String name, String option) {
        String s = name.trim();
        if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
            return ofNumber(Integer.parseInt(s), option);
        }
        for (Remasking r : values()) {
            if (r.name().equalsIgnoreCase(s)) {
                return r;
            }
        }
        throw new IllegalArgumentException(option + " must be one of origin, entropy, margin, random, confidence (or 0..4), got '" + name + "'");
    }
}
