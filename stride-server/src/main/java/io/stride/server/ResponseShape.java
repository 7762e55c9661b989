package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.engine.TokenEvent;

import java.util.List;
import java.util.Map;

/**
 * What differs between /v1/completions and /v1/chat/completions: where the prompt comes from and how choices,
 * deltas and log-probabilities are shaped. {@link OpenAiEndpoint} runs both through one path.
 */
interface ResponseShape {
    String idPrefix();

    /** "text_completion" or "chat.completion" */
    String object();

    /** the object of a streamed chunk */
    String chunkObject();

    /** The prompts of the request (a completion may give several), each at most {@code room} tokens. */
    List<Prompts.Prompt> prompts(Prompts prompts, JsonNode body, int room, GenerationSpec spec);

    /** Stop strings the server adds to the request's own (the chat template's end marker, for a model without one). */
    List<String> extraStops();

    /** A choice's log-probability records, accumulated while it generates. */
    interface Logprobs {
        void add(TokenEvent e, int textOffset);

        Object json();
    }

    Logprobs newLogprobs();

    /** A whole choice of a non-streamed answer. */
    Map<String, Object> choice(String text, Object logprobs);

    /** The key of a streamed choice's increment: "text" or "delta". */
    String deltaKey();

    /** The delta of a streamed chunk carrying {@code text}. */
    Object delta(String text);

    /** The first delta of each streamed choice (chat: the role), or null for none; {@code echo}: the prompt to repeat. */
    Object firstDelta(String echo);

    /** The delta of the chunk that carries finish_reason. */
    Object finalDelta();
}
