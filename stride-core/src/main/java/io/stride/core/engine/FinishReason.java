package io.stride.core.engine;


/** Why generation ended. */
public enum FinishReason {
    /** an end-of-generation token or a stop string */
    STOP,
    /** max tokens or the context length reached */
    LENGTH,
    /** the client went away (or cancelled) before the end */
    CANCELLED,
    /** the repetition guard saw the output loop (a pattern repeated over the guard's window) */
    REPETITION;

    /**
     * The name in the OpenAI API. A looping output ends as {@code "length"}: clients know that value means
     * "cut short", and none of the SDKs' enums has a value for a custom reason.
     */
    public String apiName() {
        return this == REPETITION ? "length" : label();
    }

    /** The name in metrics and logs, where every reason is told apart. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
