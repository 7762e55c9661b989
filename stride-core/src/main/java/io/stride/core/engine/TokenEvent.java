package io.stride.core.engine;

import java.util.List;

/**
 * One generated token as a client sees it.
 *
 * @param token       token id
 * @param text        text that became complete with this token (may be empty; never half a character;
 *                    held back while it may start a stop string)
 * @param logprob     log-probability of the token under the model (NaN when not requested)
 * @param topLogprobs the most likely alternatives (empty when not requested)
 */
public record TokenEvent(int token, String text, float logprob, List<TopLogprob> topLogprobs) {
    /** An alternative token and its log-probability. */
    public record TopLogprob(int token, float logprob) {}
}
