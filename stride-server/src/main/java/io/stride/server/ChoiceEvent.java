package io.stride.server;

import io.stride.core.engine.FinishReason;
import io.stride.core.engine.Finished;
import io.stride.core.engine.TokenEvent;

/** What the engine reports for one choice of a request, handed from the engine thread to the request's thread. */
sealed interface ChoiceEvent {
    int choice();

    record Token(int choice, TokenEvent event) implements ChoiceEvent {}

    record Finish(int choice, Finished done) implements ChoiceEvent {
        FinishReason reason() {
            return done.reason();
        }

        int completionTokens() {
            return done.completionTokens();
        }

        String trailingText() {
            return done.trailingText();
        }
    }

    record Failure(int choice, RuntimeException error) implements ChoiceEvent {}

    /** The server ended the whole request (shutdown after the drain timeout); every choice is over. */
    record Aborted(int choice, String message) implements ChoiceEvent {}

    /** The error answer of a request whose generation failed or was ended by the server. */
    static ApiException error(ChoiceEvent e) {
        return switch (e) {
            case Failure f -> new ApiException(500, "server_error", "generation failed: " + f.error().getMessage(), null, null);
            case Aborted a -> new ApiException(503, "server_error", a.message(), null, "shutting_down");
            default -> throw new IllegalArgumentException("not an error: " + e);
        };
    }
}
