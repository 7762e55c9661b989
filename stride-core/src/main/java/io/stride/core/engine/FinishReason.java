package io.stride.core.engine;

/** Why generation ended, named as in the OpenAI API. */
public enum FinishReason {
    /** an end-of-generation token or a stop string */
    STOP,
    /** max tokens or the context length reached */
    LENGTH,
    /** the client went away (or cancelled) before the end */
    CANCELLED;

    public String apiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
