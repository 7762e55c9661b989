package io.stride.core.engine;

/** A request asks for something the model cannot do; {@link #field} names the request field (as the OpenAI API spells it). */
public final class UnsupportedFieldException extends IllegalArgumentException {
    private final String field;

    public UnsupportedFieldException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
