package io.stride.core.diffusion;

/** Told when canvas positions become final, in order, so a caller can stream an answer block by block. */
@FunctionalInterface
public interface DiffusionListener {
    /**
     * Positions {@code [from, to)} of {@code canvas} are final (the tokens stay valid only during the call).
     * Returns false to stop decoding after this block.
     */
    boolean finalized(int[] canvas, int from, int to);
}
