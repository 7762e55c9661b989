package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.stride.core.engine.FinishReason;
import io.stride.core.engine.Finished;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.sampling.SamplingParams;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * POST /v1/messages, the Anthropic Messages API: a system prompt and user/assistant turns through the model's
 * chat template, one text content block back, as one message or as the documented event stream
 * (message_start, content_block_start, content_block_delta..., content_block_stop, message_delta, message_stop).
 * Errors answer in Anthropic's shape ({@code {"type":"error","error":{...}}}). Tools, images, documents and
 * extended thinking are not supported: a request using them is refused naming the field.
 */
final class MessagesEndpoint {
    private static final Set<String> KNOWN = Set.of("model", "max_tokens", "messages", "system", "stop_sequences", "temperature",
            "top_p", "top_k", "stream", "metadata", "service_tier");
    private static final Set<String> UNSUPPORTED = Set.of("tools", "tool_choice", "thinking", "mcp_servers", "container");

    private final StrideServer server;

    MessagesEndpoint(StrideServer server) {
        this.server = server;
    }

    void handle(Context ctx) throws Exception {
        JsonNode b = server.body(ctx);
        for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (UNSUPPORTED.contains(f) && !b.get(f).isNull()) {
                throw ApiException.badRequest(f + " is not supported by this server", f);
            }
            if (!KNOWN.contains(f)) {
                throw ApiException.badRequest("unknown field " + f, f);
            }
        }
        String model = RequestParser.optString(b, "model");
        if (model == null) throw ApiException.badRequest("model is required", "model");
        if (!server.servesModel(model)) throw server.unknownModel(model);
        Integer maxTokens = RequestParser.optInt(b, "max_tokens", 1, Integer.MAX_VALUE);
        if (maxTokens == null) throw ApiException.badRequest("max_tokens is required", "max_tokens");
        double temperature = RequestParser.optNumber(b, "temperature", 0, 1, 1.0);
        double topP = RequestParser.optNumber(b, "top_p", 0, 1, 1.0);
        if (topP <= 0) throw ApiException.badRequest("top_p must be in (0, 1]", "top_p");
        Integer topK = RequestParser.optInt(b, "top_k", 0, 1_000_000);
        boolean stream = RequestParser.optBool(b, "stream", false);
        List<String> stops = stopSequences(b.get("stop_sequences"));
        List<Map<String, Object>> messages = messages(b);
        int ctxLen = server.engine().config().contextLength();
        int cap = Math.min(maxTokens, server.config().maxTokensCap());
        Prompts.Prompt prompt = new Prompts(server).chat(messages, ctxLen - Math.min(cap, ctxLen - 1));
        if (prompt.ids().length + cap > ctxLen) {
            throw ApiException.badRequest("the prompt has " + prompt.ids().length + " tokens and max_tokens is " + maxTokens
                    + "; the context holds " + ctxLen, "max_tokens");
        }
        SamplingParams sampling = new SamplingParams((float) temperature, topK == null ? 0 : topK, (float) topP, 0f, 1f, 64, 0f, 0f,
                Map.of(), -1);
        List<String> allStops = new ArrayList<>(stops);
        server.chatTemplate().fallbackStops().forEach(s -> { if (!allStops.contains(s)) allStops.add(s); });
        GenerationSpec spec = new GenerationSpec(model, stream, false, cap, maxTokens, sampling, allStops, -1, 1, 0, false, null, null, null, null);
        String client = server.access().client(ctx);
        server.access().acquire(client);
        GenerationCall call = new GenerationCall("msg", List.of(prompt.ids()), 1);
        try {
            server.inFlight().admit(call);
            try (ClientDisconnect watch = ClientDisconnect.watch(ctx, call::cancel)) {
                call.start(server.engine(), spec, cap, null);
                if (stream) {
                    stream(ctx, call, stops);
                } else {
                    complete(ctx, call, stops, watch);
                }
            } finally {
                server.inFlight().removeWhenSent(ctx, call);
            }
        } finally {
            server.access().release(client);
        }
    }

    private static List<String> stopSequences(JsonNode v) {
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) return out;
        if (!v.isArray() || v.size() > 16) throw ApiException.badRequest("stop_sequences must be an array of at most 16 strings", "stop_sequences");
        for (JsonNode s : v) {
            if (!s.isTextual() || s.asText().isEmpty()) throw ApiException.badRequest("stop_sequences must be non-empty strings", "stop_sequences");
            out.add(s.asText());
        }
        return out;
    }

    private static List<Map<String, Object>> messages(JsonNode b) {
        List<Map<String, Object>> out = new ArrayList<>();
        JsonNode system = b.get("system");
        if (system != null && !system.isNull()) {
            out.add(Map.of("role", "system", "content", text(system, "system")));
        }
        JsonNode msgs = b.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) throw ApiException.badRequest("messages must be a non-empty array", "messages");
        if (msgs.size() > 4096) throw ApiException.badRequest("too many messages (max 4096)", "messages");
        for (JsonNode m : msgs) {
            String role = m.isObject() ? m.path("role").asText("") : "";
            if (!role.equals("user") && !role.equals("assistant")) {
                throw ApiException.badRequest("each message needs role \"user\" or \"assistant\"", "messages");
            }
            out.add(Map.of("role", role, "content", text(m.get("content"), "messages")));
        }
        return out;
    }

    /** A string, or text content blocks joined; any other block type is refused by name. */
    private static String text(JsonNode c, String param) {
        if (c != null && c.isTextual()) return c.asText();
        if (c == null || !c.isArray()) throw ApiException.badRequest(param + " content must be a string or an array of content blocks", param);
        StringBuilder sb = new StringBuilder();
        for (JsonNode block : c) {
            String type = block.path("type").asText("");
            if (!type.equals("text")) {
                throw ApiException.badRequest("content blocks of type \"" + type + "\" are not supported (only \"text\")", param);
            }
            if (!block.path("text").isTextual()) throw ApiException.badRequest("a text block needs a string text", param);
            sb.append(block.get("text").asText());
        }
        return sb.toString();
    }

    /** Anthropic's stop_reason, and the stop sequence when one of the request's own ended the text. */
    private static String[] stopReason(Finished f, List<String> requestStops) {
        if (f.reason() == FinishReason.LENGTH || f.reason() == FinishReason.REPETITION) return new String[]{"max_tokens", null};
        if (f.stopString() != null && requestStops.contains(f.stopString())) return new String[]{"stop_sequence", f.stopString()};
        return new String[]{"end_turn", null};
    }

    private Map<String, Object> usage(GenerationCall call, int output, int cached) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("input_tokens", call.promptTokens - cached);
        u.put("cache_read_input_tokens", cached);
        u.put("output_tokens", output);
        return u;
    }

    private Map<String, Object> message(GenerationCall call, List<Object> content, String stopReason, String stopSequence, Map<String, Object> usage) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", call.id);
        m.put("type", "message");
        m.put("role", "assistant");
        m.put("model", server.config().alias());
        m.put("content", content);
        m.put("stop_reason", stopReason);
        m.put("stop_sequence", stopSequence);
        m.put("usage", usage);
        return m;
    }

    private void complete(Context ctx, GenerationCall call, List<String> stops, ClientDisconnect watch) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        Finished done = null;
        try {
            while (done == null) {
                switch (call.next()) {
                    case ChoiceEvent.Token t -> text.append(t.event().text());
                    case ChoiceEvent.Finish f -> {
                        text.append(f.trailingText());
                        done = f.done();
                    }
                    case ChoiceEvent.Failure f -> throw ChoiceEvent.error(f);
                    case ChoiceEvent.Aborted a -> throw ChoiceEvent.error(a);
                }
            }
        } catch (InterruptedException | RuntimeException e) {
            call.cancel();
            throw e;
        }
        watch.close();
        String[] reason = stopReason(done, stops);
        StrideServer.json(ctx, 200, message(call, List.of(Map.of("type", "text", "text", text.toString())), reason[0], reason[1],
                usage(call, done.completionTokens(), done.cachedPromptTokens())));
    }

    private void stream(Context ctx, GenerationCall call, List<String> stops) throws InterruptedException {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream");
        ctx.res().setCharacterEncoding("utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        try {
            OutputStream out = ctx.res().getOutputStream();
            event(out, "message_start", Map.of("type", "message_start", "message", message(call, List.of(), null, null,
                    usage(call, 0, 0))));
            event(out, "content_block_start", Map.of("type", "content_block_start", "index", 0, "content_block",
                    Map.of("type", "text", "text", "")));
            event(out, "ping", Map.of("type", "ping"));
            out.flush();
            while (true) {
                switch (call.next()) {
                    case ChoiceEvent.Token t -> {
                        if (!t.event().text().isEmpty()) {
                            delta(out, t.event().text());
                            out.flush();
                        }
                    }
                    case ChoiceEvent.Finish f -> {
                        if (!f.trailingText().isEmpty()) delta(out, f.trailingText());
                        String[] reason = stopReason(f.done(), stops);
                        event(out, "content_block_stop", Map.of("type", "content_block_stop", "index", 0));
                        Map<String, Object> d = new LinkedHashMap<>();
                        d.put("stop_reason", reason[0]);
                        d.put("stop_sequence", reason[1]);
                        event(out, "message_delta", Map.of("type", "message_delta", "delta", d, "usage",
                                usage(call, f.completionTokens(), f.done().cachedPromptTokens())));
                        event(out, "message_stop", Map.of("type", "message_stop"));
                        out.flush();
                        return;
                    }
                    case ChoiceEvent.Failure f -> {
                        error(out, "api_error", "generation failed: " + f.error().getMessage());
                        call.cancel();
                        return;
                    }
                    case ChoiceEvent.Aborted a -> {
                        error(out, "overloaded_error", a.message());
                        return;
                    }
                }
            }
        } catch (IOException e) {
            call.cancel();
        } catch (InterruptedException | RuntimeException e) {
            call.cancel();
            throw e;
        }
    }

    private static void delta(OutputStream out, String text) throws IOException {
        event(out, "content_block_delta", Map.of("type", "content_block_delta", "index", 0, "delta",
                Map.of("type", "text_delta", "text", text)));
    }

    private static void error(OutputStream out, String type, String message) throws IOException {
        event(out, "error", Map.of("type", "error", "error", Map.of("type", type, "message", message)));
        out.flush();
    }

    private static void event(OutputStream out, String name, Object data) throws IOException {
        out.write(("event: " + name + "\ndata: ").getBytes(StandardCharsets.UTF_8));
        out.write(Json.write(data));
        out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
    }

    /** An error body in Anthropic's shape, for an {@link ApiException} raised on this route. */
    static Map<String, Object> errorBody(ApiException e) {
        String type = switch (e.status()) {
            case 400, 413, 422 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 429 -> "rate_limit_error";
            case 503 -> "overloaded_error";
            default -> e.status() < 500 ? "invalid_request_error" : "api_error";
        };
        return Map.of("type", "error", "error", Map.of("type", type, "message", e.getMessage()));
    }
}
