package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a request's prompt into token ids: a completion's {@code prompt} (text or token ids) or a chat's
 * {@code messages} rendered through the model's chat template. Text is tokenized by the {@link PromptEncoder},
 * which refuses what cannot fit in {@code maxTokens} before doing the work.
 */
final class Prompts {
    /** Token ids, and the text they came from (null for a prompt given as ids). */
    record Prompt(int[] ids, String text) {}

    private final StrideServer server;

    Prompts(StrideServer server) {
        this.server = server;
    }

    /** Most prompts one completion request may give. */
    static final int MAX_PROMPTS = 32;

    /** A completion's prompts: a string, token ids, or a list of either (one choice set per prompt). */
    List<Prompt> completion(JsonNode p, int maxTokens) {
        if (p == null || p.isNull()) {
            throw ApiException.badRequest("prompt is required", "prompt");
        }
        if (p.isArray() && !p.isEmpty() && (p.get(0).isTextual() || p.get(0).isArray())) {
            if (p.size() > MAX_PROMPTS) {
                throw ApiException.badRequest("at most " + MAX_PROMPTS + " prompts per request, got " + p.size(), "prompt");
            }
            List<Prompt> out = new ArrayList<>();
            for (JsonNode one : p) {
                if (!one.isTextual() && !one.isArray()) {
                    throw ApiException.badRequest("a list of prompts must hold only strings or only arrays of token ids", "prompt");
                }
                out.add(single(one, maxTokens));
            }
            return out;
        }
        return List.of(single(p, maxTokens));
    }

    private Prompt single(JsonNode p, int maxTokens) {
        Prompt out;
        if (p.isTextual()) {
            out = new Prompt(server.encoder().encode(p.asText(), true, maxTokens, "prompt"), p.asText());
        } else if (p.isArray()) {
            if (p.size() > maxTokens) {
                throw ApiException.badRequest("the prompt has " + p.size() + " tokens and the context allows " + maxTokens, "prompt");
            }
            int[] ids = new int[p.size()];
            int vocab = server.model().config().vocab();
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = p.get(i);
                if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                    throw ApiException.badRequest("prompt must be a string, or an array of token ids in [0, " + vocab + ")", "prompt");
                }
                ids[i] = t.asInt();
            }
            out = new Prompt(ids, null);
        } else {
            throw ApiException.badRequest("prompt must be a string, an array of token ids, or a list of either", "prompt");
        }
        if (out.ids().length == 0) {
            throw ApiException.badRequest("prompt is empty", "prompt");
        }
        return out;
    }

    Prompt chat(JsonNode body, int maxTokens) {
        return chat(body, maxTokens, null);
    }

    /**
     * The chat's messages through the template, with {@code tools} offered (null: none). Assistant turns keep their
     * {@code tool_calls} (arguments parsed from OpenAI's JSON text into objects, as Hugging Face templates expect) and
     * tool turns their {@code tool_call_id}. A template that does not render tools gets them described in the
     * system message, calls and results written in the Hermes format it then asks for.
     */
    Prompt chat(JsonNode body, int maxTokens, ToolRequest tools) {
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiException.badRequest("messages must be a non-empty array", "messages");
        }
        if (msgs.size() > 4096) {
            throw ApiException.badRequest("too many messages (max 4096)", "messages");
        }
        ChatTemplate template = server.chatTemplate();
        boolean native_ = template.showsTools();
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            if (!m.isObject()) {
                throw ApiException.badRequest("each message must be an object with role and content", "messages");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.badRequest("each message needs a string role", "messages");
            }
            String r = role.asText();
            if (!List.of("system", "user", "assistant", "tool", "developer", "function").contains(r)) {
                throw ApiException.badRequest("unknown message role '" + r + "'", "messages");
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("role", r.equals("developer") ? "system" : r);
            out.put("content", content(m.get("content")));
            JsonNode calls = m.get("tool_calls");
            if (calls != null && !calls.isNull() && !(calls.isArray() && calls.isEmpty())) {
                if (!r.equals("assistant")) throw ApiException.badRequest("only assistant messages carry tool_calls", "messages[" + i + "].tool_calls");
                List<Map<String, Object>> parsed = ToolMessages.calls(calls, "messages[" + i + "].tool_calls");
                if (native_) out.put("tool_calls", parsed);
                else out.put("content", ToolMessages.hermesCalls(out.get("content").toString(), parsed));
            }
            if (r.equals("tool")) {
                JsonNode id = m.get("tool_call_id");
                if (id != null && id.isTextual()) out.put("tool_call_id", id.asText());
                if (m.path("name").isTextual()) out.put("name", m.get("name").asText());
                if (!native_) {
                    out.put("role", "user");
                    out.put("content", "<tool_response>\n" + out.get("content") + "\n</tool_response>");
                }
            }
            list.add(out);
        }
        if (tools != null && !native_) ToolMessages.describeTools(list, tools.hermesSystemText());
        return chat(list, maxTokens, tools != null && native_ ? tools.templateTools() : null);
    }

    /** Renders already-validated messages (maps with "role" and "content") through the chat template and encodes them. */
    Prompt chat(List<Map<String, Object>> list, int maxTokens) {
        return chat(list, maxTokens, null);
    }

    private Prompt chat(List<Map<String, Object>> list, int maxTokens, List<Object> tools) {
        String text = server.chatTemplate().render(list, tools, Map.of());
        var v = server.tokenizer().vocabulary();
        boolean hasBos = v.bos() >= 0 && text.startsWith(v.token(v.bos()));
        int[] ids = server.encoder().encode(text, !hasBos, maxTokens, "messages");
        if (ids.length == 0) {
            throw ApiException.badRequest("the messages render to an empty prompt", "messages");
        }
        return new Prompt(ids, null);
    }

    private static String content(JsonNode c) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !part.path("type").isTextual()) {
                    throw ApiException.badRequest("content parts must be objects with a type", "messages");
                }
                if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw ApiException.badRequest("only text content parts are supported", "messages");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.badRequest("message content must be a string or an array of text parts", "messages");
    }
}
