package io.stride.core.grammar;

/** A grammar, schema or pattern that cannot be used; the message names the construct and where it is. */
public final class GrammarException extends IllegalArgumentException {
    public GrammarException(String message) {
        super(message);
    }
}
