package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.engine.TokenEvent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/completions: text prompts (one or a list), text deltas, legacy per-token log-probability arrays. */
final class CompletionShape implements ResponseShape {
    private final StrideServer server;

    CompletionShape(StrideServer server) {
        this.server = server;
    }

    @Override
    public String idPrefix() {
        return "cmpl";
    }

    @Override
    public String object() {
        return "text_completion";
    }

    @Override
    public String chunkObject() {
        return "text_completion";
    }

    @Override
    public List<Prompts.Prompt> prompts(Prompts prompts, JsonNode body, int room, GenerationSpec spec) {
        return prompts.completion(body.get("prompt"), room);
    }

    @Override
    public List<String> extraStops() {
        return List.of();
    }

    @Override
    public ResponseShape.Logprobs newLogprobs() {
        return new ResponseShape.Logprobs() {
            final List<String> tokens = new ArrayList<>();
            final List<Float> tokenLogprobs = new ArrayList<>();
            final List<Map<String, Float>> top = new ArrayList<>();
            final List<Integer> offsets = new ArrayList<>();

            @Override
            public void add(TokenEvent e, int textOffset) {
                tokens.add(server.tokenText(e.token()));
                tokenLogprobs.add(e.logprob());
                Map<String, Float> t = new LinkedHashMap<>();
                for (TokenEvent.TopLogprob tl : e.topLogprobs()) t.putIfAbsent(server.tokenText(tl.token()), tl.logprob());
                top.add(t);
                offsets.add(textOffset);
            }

            @Override
            public Object json() {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("tokens", tokens);
                m.put("token_logprobs", tokenLogprobs);
                m.put("top_logprobs", top);
                m.put("text_offset", offsets);
                return m;
            }
        };
    }

    @Override
    public Map<String, Object> choice(String text, Object logprobs) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("text", text);
        c.put("logprobs", logprobs);
        return c;
    }

    @Override
    public String deltaKey() {
        return "text";
    }

    @Override
    public Object delta(String text) {
        return text;
    }

    @Override
    public Object firstDelta(String echo) {
        return echo;
    }

    @Override
    public Object finalDelta() {
        return "";
    }
}
