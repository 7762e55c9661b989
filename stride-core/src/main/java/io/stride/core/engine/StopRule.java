package io.stride.core.engine;

import io.stride.core.tokenizer.Vocabulary;

/**
 * The one rule that ends a generation, whatever runs it (a server request, {@code generate}, a benchmark): an
 * end-of-generation token (not committed), a stop string in the text (never emitted), a grammar that is complete
 * and allows nothing more (the end token is not waited for: no forward pass for it), the repetition guard, the
 * request's max tokens or the context length. vLLM keeps the same rule in one {@code check_stop}; so does Stride.
 */
final class StopRule {
    private StopRule() {}

    /** True when {@code token} ends the generation before it is committed. */
    static boolean endsBefore(Vocabulary vocab, int token) {
        return vocab.isEndOfGeneration(token);
    }

    /** Why the generation ends after committing {@code token} (its text already through the stop matcher), or null. */
    static FinishReason after(Sequence s, int token, int contextLength) {
        if (s.stops.stopped() || s.grammar != null && s.grammar.mustEnd()) {
            return FinishReason.STOP;
        }
        if (s.guard != null && s.guard.accept(token)) {
            return FinishReason.REPETITION;
        }
        if (s.generated() >= s.request.params().maxTokens() || s.length >= contextLength) {
            return FinishReason.LENGTH;
        }
        return null;
    }
}
