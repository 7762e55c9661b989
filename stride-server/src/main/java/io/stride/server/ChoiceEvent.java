package io.stride.server;

import io.stride.core.engine.FinishReason;
import io.stride.core.engine.TokenEvent;

/** What the engine reports for one choice of a request, handed from the engine thread to the request's thread. */
sealed interface ChoiceEvent {
    int choice();

    record Token(int choice, TokenEvent event) implements ChoiceEvent {}

    record Finish(int choice, FinishReason reason, int promptTokens, int completionTokens, String trailingText) implements ChoiceEvent {}

    record Failure(int choice, RuntimeException error) implements ChoiceEvent {}
}
