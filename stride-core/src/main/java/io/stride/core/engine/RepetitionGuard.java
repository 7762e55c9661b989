package io.stride.core.engine;


/**
 * Detects a degenerate loop in generated tokens: the last {@code window} tokens are one pattern of at most
 * {@code window / 4} tokens (and at most {@link #MAX_PERIOD}) repeated. Crafted inputs can make a model
 * repeat itself until max_tokens; an operator who enables the guard ends such requests early.
 * <p>
 * Invariant: {@code run[p]} is the number of consecutive latest tokens equal to the token {@code p} before
 * them, so the last {@code run[p] + p} tokens have period {@code p}. O(periods) work per token, no allocation.
 */
final class RepetitionGuard {
    static final int MAX_PERIOD = 64;

    private final int window;
    private final int periods;
    private final int[] recent;
    private final int[] run;
    private long count;

    RepetitionGuard(int window) {
        if (window < 8) {
            throw new IllegalArgumentException("the repetition guard window must be at least 8 tokens, got " + window);
        }
        this.window = window;
        this.periods = Math.min(MAX_PERIOD, window / 4);
        this.recent = new int[periods];
        this.run = new int[periods + 1];
    }

    /** Adds the next generated token; true when the output has now looped over the whole window. */
    boolean accept(int token) {
        boolean looped = false;
        for (int p = 1; p <= periods; p++) {
            if (count >= p && recent[(int) ((count - p) % periods)] == token) {
                run[p]++;
                looped |= run[p] + p >= window;
            } else {
                run[p] = 0;
            }
        }
        recent[(int) (count % periods)] = token;
        count++;
        return looped;
    }
}
