package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.engine.TokenEvent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/chat/completions: messages through the chat template, message deltas, per-token log-probability objects. */
final class ChatShape implements ResponseShape {
    private final StrideServer server;

    ChatShape(StrideServer server) {
        this.server = server;
    }

    @Override
    public String idPrefix() {
        return "chatcmpl";
    }

    @Override
    public String object() {
        return "chat.completion";
    }

    @Override
    public String chunkObject() {
        return "chat.completion.chunk";
    }

    @Override
    public List<Prompts.Prompt> prompts(Prompts prompts, JsonNode body, int room, GenerationSpec spec) {
        return List.of(prompts.chat(body, room, spec.tools()));
    }

    @Override
    public List<String> extraStops() {
        return server.chatTemplate().fallbackStops();
    }

    @Override
    public ResponseShape.Logprobs newLogprobs() {
        return new ResponseShape.Logprobs() {
            final List<Object> content = new ArrayList<>();

            @Override
            public void add(TokenEvent e, int textOffset) {
                content.add(entry(e));
            }

            @Override
            public Object json() {
                return Map.of("content", content);
            }
        };
    }

    private Map<String, Object> entry(TokenEvent t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("token", server.tokenText(t.token()));
        m.put("logprob", t.logprob());
        m.put("bytes", server.tokenBytes(t.token()));
        List<Object> top = new ArrayList<>();
        for (TokenEvent.TopLogprob tl : t.topLogprobs()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("token", server.tokenText(tl.token()));
            x.put("logprob", tl.logprob());
            x.put("bytes", server.tokenBytes(tl.token()));
            top.add(x);
        }
        m.put("top_logprobs", top);
        return m;
    }

    @Override
    public Map<String, Object> choice(String text, Object logprobs) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("message", Map.of("role", "assistant", "content", text));
        c.put("logprobs", logprobs);
        return c;
    }

    /** A whole choice whose output held tool calls: the text before them (or null) and the calls. */
    static Map<String, Object> toolChoice(ToolFormat.Parsed parsed, Object logprobs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", "assistant");
        m.put("content", parsed.content());
        m.put("tool_calls", parsed.calls().stream().map(c -> toolCall(c, null)).toList());
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("message", m);
        c.put("logprobs", logprobs);
        return c;
    }

    /** A call as OpenAI writes it; with {@code index} as a streamed delta carries it. */
    static Map<String, Object> toolCall(ToolFormat.ToolCall call, Integer index) {
        Map<String, Object> t = new LinkedHashMap<>();
        if (index != null) t.put("index", index);
        t.put("id", call.id());
        t.put("type", "function");
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("name", call.name());
        f.put("arguments", call.arguments());
        t.put("function", f);
        return t;
    }

    @Override
    public String deltaKey() {
        return "delta";
    }

    @Override
    public Object delta(String text) {
        return Map.of("content", text);
    }

    @Override
    public Object firstDelta(String echo) {
        return Map.of("role", "assistant", "content", "");
    }

    @Override
    public Object finalDelta() {
        return Map.of();
    }
}
