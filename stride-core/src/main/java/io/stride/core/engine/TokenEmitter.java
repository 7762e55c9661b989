package io.stride.core.engine;

import io.stride.core.tokenizer.StreamingDecoder;
import io.stride.core.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Commits one sequence's generated tokens: ends on an end-of-generation token (not emitted), a stop string
 * (never emitted) or the token / context limit, and streams the detokenised text. Shared by the plain and the
 * speculative generators, so both end a generation by the same rules.
 */
public final class TokenEmitter {
    private final Tokenizer tok;
    private final int maxTokens;
    private final int contextLength;
    private final Consumer<String> onText;
    private final StreamingDecoder decoder;
    private final StopMatcher stops;
    private final StringBuilder text = new StringBuilder();
    private final int[] history;
    private final int promptLength;
    private int length;
    private FinishReason reason = FinishReason.LENGTH;
    private boolean finished;

    /**
     * @param history the prompt in {@code history[0 .. promptLength)}, with room for the generated tokens
     */
    public TokenEmitter(Tokenizer tok, GenerationParams params, int[] history, int promptLength, int contextLength, Consumer<String> onText) {
        this.tok = tok;
        this.maxTokens = params.maxTokens();
        this.contextLength = contextLength;
        this.onText = onText;
        this.decoder = new StreamingDecoder(tok);
        this.stops = new StopMatcher(params.stop());
        this.history = history;
        this.promptLength = promptLength;
        this.length = promptLength;
        this.finished = maxTokens <= 0 || length >= contextLength;
    }

    /** True once no further token may be committed. */
    public boolean finished() {
        return finished;
    }

    /** Prompt and committed tokens. */
    public int[] history() {
        return history;
    }

    public int length() {
        return length;
    }

    public int generated() {
        return length - promptLength;
    }

    /** Commits {@code token}; returns false when the generation has ended (with it or before it). */
    public boolean accept(int token) {
        if (finished) {
            return false;
        }
        if (tok.vocabulary().isEndOfGeneration(token)) {
            reason = FinishReason.STOP;
            finished = true;
            return false;
        }
        history[length++] = token;
        String piece = stops.accept(decoder.next(token));
        if (!piece.isEmpty()) {
            text.append(piece);
            onText.accept(piece);
        }
        if (stops.stopped()) {
            reason = FinishReason.STOP;
            finished = true;
        } else if (generated() >= maxTokens || length >= contextLength) {
            finished = true;
        }
        return !finished;
    }

    /** Flushes held-back text and returns the result. */
    public GenerationResult result(long prefillNanos, long decodeNanos) {
        String tail = stops.accept(decoder.flush()) + stops.flush();
        if (!tail.isEmpty()) {
            text.append(tail);
            onText.accept(tail);
        }
        return new GenerationResult(Arrays.copyOfRange(history, promptLength, length), text.toString(), reason, promptLength,
                prefillNanos, decodeNanos);
    }
}
