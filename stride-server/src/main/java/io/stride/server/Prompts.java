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
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiException.badRequest("messages must be a non-empty array", "messages");
        }
        if (msgs.size() > 4096) {
            throw ApiException.badRequest("too many messages (max 4096)", "messages");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        for (JsonNode m : msgs) {
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
            list.add(out);
        }
        return chat(list, maxTokens);
    }

    /** Renders already-validated messages (maps with "role" and "content") through the chat template and encodes them. */
    Prompt chat(List<Map<String, Object>> list, int maxTokens) {
        String text = server.chatTemplate().render(list);
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
