package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * POST /tokenize and /detokenize, in the request shapes of both llama-server ({@code content}, {@code add_special},
 * {@code with_pieces}; answer {@code content}) and vLLM ({@code prompt} or {@code messages},
 * {@code add_special_tokens}; answer {@code prompt}, {@code count}, {@code max_model_len}).
 */
final class TokenizeEndpoints {
    /** Texts longer than this many tokens (times the context) are refused before any work. */
    static final int CONTEXTS_PER_TEXT = 4;

    private final StrideServer server;

    TokenizeEndpoints(StrideServer server) {
        this.server = server;
    }

    void tokenize(Context ctx) {
        JsonNode b = server.body(ctx);
        String model = RequestParser.optString(b, "model");
        if (!server.servesModel(model)) {
            throw server.unknownModel(model);
        }
        int ctxLen = server.engine().config().contextLength();
        int limit = ctxLen * CONTEXTS_PER_TEXT;
        int[] ids;
        if (b.hasNonNull("messages")) {
            ids = new Prompts(server).chat(b, limit).ids();
        } else {
            String field = b.hasNonNull("content") ? "content" : "prompt";
            String text = RequestParser.optString(b, field);
            if (text == null) {
                throw ApiException.badRequest("give the text as content (or prompt), or chat messages", "content");
            }
            boolean addSpecial = b.has("add_special") ? RequestParser.optBool(b, "add_special", false)
                    : RequestParser.optBool(b, "add_special_tokens", field.equals("prompt"));
            ids = server.encoder().encode(text, addSpecial, limit, field);
        }
        boolean pieces = RequestParser.optBool(b, "with_pieces", false);
        List<Object> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            tokens.add(pieces ? Map.of("id", id, "piece", server.tokenText(id)) : id);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("tokens", tokens);
        r.put("count", ids.length);
        r.put("max_model_len", ctxLen);
        StrideServer.json(ctx, 200, r);
    }

    void detokenize(Context ctx) {
        JsonNode b = server.body(ctx);
        String model = RequestParser.optString(b, "model");
        if (!server.servesModel(model)) {
            throw server.unknownModel(model);
        }
        JsonNode t = b.get("tokens");
        if (t == null || !t.isArray()) {
            throw ApiException.badRequest("tokens must be an array of token ids", "tokens");
        }
        int vocab = server.model().config().vocab();
        int[] ids = new int[t.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode x = t.get(i);
            if (!x.isIntegralNumber() || !x.canConvertToInt() || x.asInt() < 0 || x.asInt() >= vocab) {
                throw ApiException.badRequest("tokens must be token ids in [0, " + vocab + "), got " + x, "tokens");
            }
            ids[i] = x.asInt();
        }
        String text = server.tokenizer().decode(ids);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("content", text);
        r.put("prompt", text);
        StrideServer.json(ctx, 200, r);
    }
}
