package io.stride.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a model family writes tool calls, read off its chat template: Hermes and Qwen 2.5 ({@code <tool_call>{...}
 * </tool_call>}, one block per call), Mistral ({@code [TOOL_CALLS][{...}, ...]}) and Llama 3.1/3.2 (a bare
 * {@code {"name": ..., "parameters": ...}} object, after {@code <|python_tag|>} or not). Each parses a finished
 * output into content and calls, and frames the calls' JSON for the grammar that forces a call.
 */
enum ToolFormat {
    HERMES("<tool_call>", "arguments"),
    MISTRAL("[TOOL_CALLS]", "arguments"),
    LLAMA3("<|python_tag|>", "parameters");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HERMES_CALL = Pattern.compile("<tool_call>\\s*(.*?)\\s*(?:</tool_call>|$)", Pattern.DOTALL);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /** The text (often a special token of its own) that opens a model's calls. */
    final String marker;
    /** The key of a call's arguments in the model's JSON. */
    final String argumentsKey;

    ToolFormat(String marker, String argumentsKey) {
        this.marker = marker;
        this.argumentsKey = argumentsKey;
    }

    /** One call, arguments as OpenAI sends them: JSON text. */
    record ToolCall(String id, String name, String arguments) {}

    /** What the assistant said: text before the calls (null when none) and the calls. */
    record Parsed(String content, List<ToolCall> calls) {}

    /** The format a chat template teaches, from the markers it writes; Hermes for templates that show none. */
    static ToolFormat of(String template) {
        if (template == null) return HERMES;
        if (template.contains("[TOOL_CALLS]")) return MISTRAL;
        if (template.contains("<tool_call>")) return HERMES;
        if (template.contains("<|python_tag|>") || template.contains("\"parameters\": dictionary")) return LLAMA3;
        return HERMES;
    }

    /** True when the output may be calls without the marker: a format whose calls are bare JSON. */
    boolean bareCalls() {
        return this != HERMES;
    }

    /** The text before, between and after the calls' JSON in this format, for {@code Grammars.framedJsonSchema}. */
    String[] frame() {
        return switch (this) {
            case HERMES -> new String[] {"<tool_call>\n", "\n</tool_call>\n<tool_call>\n", "\n</tool_call>"};
            case MISTRAL -> new String[] {"[", ", ", "]"};
            case LLAMA3 -> new String[] {"", "; ", ""};
        };
    }

    /**
     * Splits a finished output into content and calls. Output that does not hold well-formed calls (a marker
     * followed by broken JSON, say) is all content, so nothing the model wrote is lost; the one exception is a last
     * Hermes block cut off by the end of the output (max_tokens) after whole calls: those calls stand, as they did
     * when streamed, and the cut-off block is dropped.
     */
    Parsed parse(String text) {
        try {
            return switch (this) {
                case HERMES -> hermes(text);
                case MISTRAL -> mistral(text);
                case LLAMA3 -> llama3(text);
            };
        } catch (Exception e) {
            return new Parsed(text, List.of());
        }
    }

    private Parsed hermes(String text) throws Exception {
        int at = text.indexOf(marker);
        if (at < 0) return new Parsed(text, List.of());
        List<ToolCall> calls = new ArrayList<>();
        Matcher m = HERMES_CALL.matcher(text).region(at, text.length());
        while (m.find()) {
            boolean closed = m.group().endsWith("</tool_call>");
            try {
                calls.add(call(JSON.readTree(m.group(1))));
            } catch (Exception e) {
                // a last block the output's end cut off is dropped (the calls before it stand, as streamed); a broken
                // closed block makes the whole output text
                if (closed || calls.isEmpty()) throw e;
            }
        }
        return new Parsed(content(text.substring(0, at)), calls);
    }

    private Parsed mistral(String text) throws Exception {
        int at = text.indexOf(marker);
        String json = at >= 0 ? text.substring(at + marker.length()) : text;
        if (at < 0 && !json.strip().startsWith("[")) return new Parsed(text, List.of());
        JsonNode v = JSON.readTree(json.strip());
        List<ToolCall> calls = new ArrayList<>();
        if (v.isArray()) {
            for (JsonNode c : v) calls.add(call(c));
        } else {
            calls.add(call(v));
        }
        return new Parsed(at > 0 ? content(text.substring(0, at)) : null, calls);
    }

    private Parsed llama3(String text) throws Exception {
        int at = text.indexOf(marker);
        String json = (at >= 0 ? text.substring(at + marker.length()) : text).strip();
        if (!json.startsWith("{")) return new Parsed(text, List.of());
        List<ToolCall> calls = new ArrayList<>();
        String rest = json;
        while (true) {
            JsonParser p = JSON.createParser(rest);
            calls.add(call(JSON.readTree(p)));
            rest = rest.substring((int) p.currentLocation().getCharOffset()).strip();
            if (rest.isEmpty()) break;
            if (!rest.startsWith(";")) throw new IllegalArgumentException("text after a call");
            rest = rest.substring(1).strip();
        }
        return new Parsed(at > 0 ? content(text.substring(0, at)) : null, calls);
    }

    private ToolCall call(JsonNode c) throws Exception {
        if (!c.isObject() || !c.path("name").isTextual()) throw new IllegalArgumentException("not a call");
        JsonNode args = c.has(argumentsKey) ? c.get(argumentsKey) : c.get(argumentsKey.equals("arguments") ? "parameters" : "arguments");
        String arguments = args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : JSON.writeValueAsString(args);
        return new ToolCall(newId(), c.get("name").asText(), arguments);
    }

    private static String content(String before) {
        String s = before.strip();
        return s.isEmpty() ? null : s;
    }

    /** A call id: Mistral's templates insist on nine letters or digits; elsewhere OpenAI's "call_" form. */
    String newId() {
        int n = this == MISTRAL ? 9 : 24;
        StringBuilder sb = new StringBuilder(this == MISTRAL ? "" : "call_");
        for (int i = 0; i < n; i++) sb.append(ALNUM.charAt(RANDOM.nextInt(ALNUM.length())));
        return sb.toString();
    }
}
