package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tool calls and tool descriptions inside chat messages, as templates receive them. */
final class ToolMessages {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolMessages() {}

    /**
     * An assistant message's {@code tool_calls}, validated, as maps for the template: {@code id}, {@code type},
     * {@code function} with {@code name} and {@code arguments} parsed from OpenAI's JSON text into an object.
     */
    static List<Map<String, Object>> calls(JsonNode calls, String field) {
        if (!calls.isArray()) throw ApiException.badRequest(field + " must be an array", field);
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            JsonNode c = calls.get(i);
            String at = field + "[" + i + "]";
            JsonNode f = c.get("function");
            if (!c.isObject() || f == null || !f.isObject() || !f.path("name").isTextual()) {
                throw ApiException.badRequest(at + " must be {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}", at);
            }
            Object args;
            JsonNode a = f.get("arguments");
            try {
                args = a == null || a.isNull() ? Map.of() : a.isTextual()
                        ? JSON.readValue(a.asText().isBlank() ? "{}" : a.asText(), Object.class)
                        : JSON.convertValue(a, Object.class);
            } catch (Exception e) {
                throw ApiException.badRequest(at + ".function.arguments is not valid JSON: " + e.getMessage(), at + ".function.arguments");
            }
            Map<String, Object> fn = new LinkedHashMap<>();
            fn.put("name", f.get("name").asText());
            fn.put("arguments", args);
            Map<String, Object> call = new LinkedHashMap<>();
            if (c.path("id").isTextual()) call.put("id", c.get("id").asText());
            call.put("type", "function");
            call.put("function", fn);
            out.add(call);
        }
        return out;
    }

    /** {@code content} followed by {@code calls} as Hermes writes them. */
    static String hermesCalls(String content, List<Map<String, Object>> calls) {
        StringBuilder sb = new StringBuilder(content);
        for (Map<String, Object> c : calls) {
            @SuppressWarnings("unchecked")
            Map<String, Object> f = (Map<String, Object>) c.get("function");
            Map<String, Object> call = new LinkedHashMap<>();
            call.put("name", f.get("name"));
            call.put("arguments", f.get("arguments"));
            if (!sb.isEmpty()) sb.append('\n');
            sb.append("<tool_call>\n").append(PythonJsonFilter.write(call, -1)).append("\n</tool_call>");
        }
        return sb.toString();
    }

    /** Puts {@code description} into the system message (after its own text), or a new one first. */
    static void describeTools(List<Map<String, Object>> messages, String description) {
        if (!messages.isEmpty() && "system".equals(messages.getFirst().get("role"))) {
            Object own = messages.getFirst().get("content");
            messages.getFirst().put("content", own == null || own.toString().isEmpty() ? description : own + "\n\n" + description);
        } else {
            Map<String, Object> sys = new LinkedHashMap<>();
            sys.put("role", "system");
            sys.put("content", description);
            messages.addFirst(sys);
        }
    }
}
