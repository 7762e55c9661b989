package io.stride.core.spec;

/**
 * One request's drafter: proposes a tree of likely continuations of the context before each verify step.
 * Created by a {@link DraftMethod} when the request starts and closed when it ends.
 */
public interface Drafter extends AutoCloseable {
    /**
     * Proposes at most {@code max} nodes continuing {@code context[0 .. length)} (prompt and committed output) into
     * {@code tree}, which the caller has cleared. {@code hidden} is the target model's final normalised hidden
     * state at position {@code length - 1}'s predecessor row, i.e. the one whose logits produced
     * {@code context[length - 1]} (null when unknown); only Medusa heads use it.
     */
    void propose(int[] context, int length, int max, DraftTree tree, float[] hidden);

    /** The request has ended; {@code context[0 .. length)} is its prompt and final output. */
    default void finish(int[] context, int length) {
    }

    @Override
    default void close() {
    }
}
