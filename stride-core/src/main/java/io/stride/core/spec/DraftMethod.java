package io.stride.core.spec;

import io.stride.core.sampling.SamplingParams;

/**
 * A way of drafting (prompt lookup, suffix trees, a draft model, Medusa heads...): holds what is shared across
 * requests (weights, global statistics) and opens a {@link Drafter} per request. Used from one thread.
 * <p>Naming: a class named {@code *Method} is a {@code DraftMethod} (one per server), a class named {@code *Drafter}
 * is a per-request {@link Drafter}; {@link NgramMethod}, which keeps no state, is both.
 */
public interface DraftMethod extends AutoCloseable {
    /** Short name for logs and metrics: ngram, suffix, ngram-online, draft, medusa. */
    String name();

    /** A drafter for a request with this prompt, sampling as {@code sampling} says. */
    Drafter open(int[] prompt, SamplingParams sampling);

    /**
     * True when the drafter's trees carry acceptance estimates ({@link DraftTree#setScore}) and drafting is cheap:
     * it is then asked for full-size trees, which are cut to the size that pays for itself.
     */
    default boolean scoresDrafts() {
        return false;
    }

    /** True when {@link Drafter#propose} needs the target's hidden state. */
    default boolean needsHidden() {
        return false;
    }

    @Override
    default void close() {
    }
}
