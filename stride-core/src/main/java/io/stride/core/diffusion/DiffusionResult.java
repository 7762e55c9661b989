package io.stride.core.diffusion;

import java.util.Arrays;

/**
 * A finished diffusion generation.
 *
 * @param canvas        prompt and answer positions as decoded (llama.cpp's output buffer: the answer runs to the end,
 *                      end-of-text tokens and anything after them included)
 * @param promptLength  positions of the prompt at the start of {@code canvas}
 * @param answer        the answer up to its first end-of-generation token (exclusive): the text a user sees
 * @param stopped       whether the answer ended at an end-of-generation token (else it filled every position)
 * @param forwardPasses forward passes run (each over the whole canvas, or over the active positions with the cache)
 * @param tokensComputed token rows the forward passes computed in all
 * @param steps         decoding steps (one forward pass each)
 * @param nanos         wall time of the decoding loop
 */
public record DiffusionResult(int[] canvas, int promptLength, int[] answer, boolean stopped, int forwardPasses,
                              long tokensComputed, int steps, long nanos) {

    /** Answer tokens per second of decoding. */
    public double tokensPerSecond() {
        return nanos == 0 ? 0 : answer.length * 1e9 / nanos;
    }

    /** Forward passes per answer token (1 for the one-token-per-step baseline without end-of-text shortcuts). */
    public double passesPerToken() {
        return answer.length == 0 ? forwardPasses : forwardPasses / (double) answer.length;
    }

    /** The answer positions of the canvas (everything after the prompt). */
    public int[] generated() {
        return Arrays.copyOfRange(canvas, promptLength, canvas.length);
    }
}
