package io.stride.core.spec;

/** Proposes tokens that are likely to follow a context; the verifier decides which ones the model agrees with. */
public interface Drafter {
    /**
     * Up to {@code max} proposed continuation tokens of {@code context[0 .. length)} (prompt and output so far),
     * written to {@code out}; returns how many.
     */
    int propose(int[] context, int length, int max, int[] out);
}
