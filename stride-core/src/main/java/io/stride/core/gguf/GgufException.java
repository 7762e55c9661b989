package io.stride.core.gguf;

/**
 * A GGUF file (or a model built from one) is malformed or unsupported.
 * The message always names the file and says what is wrong, and where it is known, the byte offset or tensor.
 */
public class GgufException extends RuntimeException {
    public GgufException(String message) {
        super(message);
    }

    public GgufException(String message, Throwable cause) {
        super(message, cause);
    }
}
