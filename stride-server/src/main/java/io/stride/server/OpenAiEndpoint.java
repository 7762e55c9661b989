package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.stride.core.engine.FinishReason;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.TokenEvent;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * POST /v1/completions and /v1/chat/completions: validates the request, runs its choices in the engine and
 * answers as one JSON object or as server-sent events, following the OpenAI schema.
 */
final class OpenAiEndpoint {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final StrideServer server;
    private final boolean chat;

    OpenAiEndpoint(StrideServer server, boolean chat) {
        this.server = server;
        this.chat = chat;
    }

    void handle(Context ctx) throws Exception {
        JsonNode body = StrideServer.body(ctx);
        GenerationSpec spec = RequestParser.parse(body, chat, server.config());
        if (!server.servesModel(spec.model())) {
            throw new ApiException(404, "invalid_request_error", "the model '" + spec.model() + "' does not exist; this server serves '"
                    + server.config().alias() + "'", "model", "model_not_found");
        }
        String promptText = null;
        int[] prompt;
        if (chat) {
            prompt = chatPrompt(body);
        } else {
            JsonNode p = body.get("prompt");
            if (p != null && p.isTextual()) {
                promptText = p.asText();
            }
            prompt = completionPrompt(p);
        }
        int vocab = server.model().config().vocab();
        for (int id : spec.sampling().logitBias().keySet()) {
            if (id < 0 || id >= vocab) {
                throw ApiException.badRequest("logit_bias token id " + id + " is outside the vocabulary [0, " + vocab + ")", "logit_bias");
            }
        }
        int ctxLen = server.engine().config().contextLength();
        int maxTokens = spec.maxTokens() != null ? spec.maxTokens()
                : Math.max(1, Math.min(server.config().defaultMaxTokens(), ctxLen - prompt.length));
        if (prompt.length + maxTokens > ctxLen) {
            throw ApiException.badRequest("this model's maximum context length is " + ctxLen + " tokens; the prompt has " + prompt.length
                    + " and max_tokens is " + maxTokens + " (" + (prompt.length + maxTokens) + " in all)", spec.maxTokens() != null ? "max_tokens" : "messages");
        }
        GenerationCall call = new GenerationCall(chat ? "chatcmpl" : "cmpl", prompt.length, spec.n());
        try {
            call.start(server.engine(), prompt, spec, maxTokens);
        } catch (InferenceEngine.QueueFullException e) {
            throw new ApiException(429, "rate_limit_error", e.getMessage(), null, "queue_full");
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage(), null);
        } catch (IllegalStateException e) {
            throw new ApiException(503, "server_error", e.getMessage(), null, "unavailable");
        }
        String echo = spec.echo() ? (promptText != null ? promptText : server.tokenizer().decode(prompt)) : null;
        if (spec.stream()) {
            stream(ctx, call, spec, echo);
        } else {
            complete(ctx, call, spec, echo);
        }
    }

    private int[] completionPrompt(JsonNode p) {
        if (p == null || p.isNull()) {
            throw ApiException.badRequest("prompt is required", "prompt");
        }
        if (p.isArray() && p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray())) {
            p = p.get(0);
        }
        int[] ids;
        if (p.isTextual()) {
            ids = server.tokenizer().encode(p.asText(), true, true);
        } else if (p.isArray()) {
            ids = new int[p.size()];
            int vocab = server.model().config().vocab();
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = p.get(i);
                if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                    throw ApiException.badRequest("prompt must be a string, or an array of token ids in [0, " + vocab + ")", "prompt");
                }
                ids[i] = t.asInt();
            }
        } else {
            throw ApiException.badRequest("prompt must be a string or an array of token ids (one prompt per request)", "prompt");
        }
        if (ids.length == 0) {
            throw ApiException.badRequest("prompt is empty", "prompt");
        }
        return ids;
    }

    private int[] chatPrompt(JsonNode body) {
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
        String text = server.chatTemplate().render(list);
        var v = server.tokenizer().vocabulary();
        boolean hasBos = v.bos() >= 0 && text.startsWith(v.token(v.bos()));
        int[] ids = server.tokenizer().encode(text, !hasBos, true);
        if (ids.length == 0) {
            throw ApiException.badRequest("the messages render to an empty prompt", "messages");
        }
        return ids;
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

    /** Per-choice accumulation for non-streaming answers. */
    private final class ChoiceState {
        final StringBuilder text = new StringBuilder();
        final List<Object> logprobs = new ArrayList<>();
        final List<String> tokens = new ArrayList<>();
        final List<Float> tokenLogprobs = new ArrayList<>();
        final List<Map<String, Float>> top = new ArrayList<>();
        final List<Integer> offsets = new ArrayList<>();
        FinishReason finish;
        int completionTokens;
    }

    private void complete(Context ctx, GenerationCall call, GenerationSpec spec, String echo) throws InterruptedException {
        ChoiceState[] states = new ChoiceState[call.choices];
        for (int i = 0; i < states.length; i++) {
            states[i] = new ChoiceState();
            if (echo != null) states[i].text.append(echo);
        }
        int open = call.choices;
        try {
            while (open > 0) {
                ChoiceEvent e = call.next();
                ChoiceState s = states[e.choice()];
                switch (e) {
                    case ChoiceEvent.Token t -> {
                        if (spec.logprobs() >= 0) record(s, t.event());
                        s.text.append(t.event().text());
                    }
                    case ChoiceEvent.Finish f -> {
                        s.text.append(f.trailingText());
                        s.finish = f.reason();
                        s.completionTokens = f.completionTokens();
                        open--;
                    }
                    case ChoiceEvent.Failure f -> throw new ApiException(500, "server_error", "generation failed: " + f.error().getMessage(), null, null);
                }
            }
        } catch (InterruptedException | RuntimeException e) {
            call.cancel();
            throw e;
        }
        List<Object> choices = new ArrayList<>();
        int completion = 0;
        for (int i = 0; i < states.length; i++) {
            ChoiceState s = states[i];
            completion += s.completionTokens;
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("index", i);
            if (chat) {
                c.put("message", Map.of("role", "assistant", "content", s.text.toString()));
                c.put("logprobs", spec.logprobs() >= 0 ? Map.of("content", s.logprobs) : null);
            } else {
                c.put("text", s.text.toString());
                c.put("logprobs", spec.logprobs() >= 0 ? completionLogprobs(s) : null);
            }
            c.put("finish_reason", s.finish == null ? null : s.finish.apiName());
            choices.add(c);
        }
        Map<String, Object> r = header(call, chat ? "chat.completion" : "text_completion");
        r.put("choices", choices);
        r.put("usage", usage(call.promptTokens, completion));
        StrideServer.json(ctx, 200, r);
    }

    private void record(ChoiceState s, TokenEvent t) {
        String tok = server.tokenText(t.token());
        if (chat) {
            s.logprobs.add(chatLogprob(t));
        } else {
            int offset = s.text.length();
            s.tokens.add(tok);
            s.tokenLogprobs.add(t.logprob());
            Map<String, Float> top = new LinkedHashMap<>();
            for (TokenEvent.TopLogprob tl : t.topLogprobs()) top.putIfAbsent(server.tokenText(tl.token()), tl.logprob());
            s.top.add(top);
            s.offsets.add(offset);
        }
    }

    private Map<String, Object> chatLogprob(TokenEvent t) {
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

    private static Map<String, Object> completionLogprobs(ChoiceState s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tokens", s.tokens);
        m.put("token_logprobs", s.tokenLogprobs);
        m.put("top_logprobs", s.top);
        m.put("text_offset", s.offsets);
        return m;
    }

    private Map<String, Object> header(GenerationCall call, String object) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", call.id);
        r.put("object", object);
        r.put("created", System.currentTimeMillis() / 1000);
        r.put("model", server.config().alias());
        return r;
    }

    private static Map<String, Object> usage(int prompt, int completion) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    private void stream(Context ctx, GenerationCall call, GenerationSpec spec, String echo) throws InterruptedException {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream");
        ctx.res().setCharacterEncoding("utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        int open = call.choices;
        int completion = 0;
        int[] textLength = new int[call.choices];
        try {
            OutputStream out = ctx.res().getOutputStream();
            for (int c = 0; c < call.choices; c++) {
                if (chat) {
                    send(out, chunk(call, c, Map.of("role", "assistant", "content", ""), null, null));
                } else if (echo != null) {
                    send(out, chunk(call, c, echo, null, null));
                }
            }
            out.flush();
            while (open > 0) {
                ChoiceEvent e = call.next();
                switch (e) {
                    case ChoiceEvent.Token t -> {
                        String text = t.event().text();
                        if (text.isEmpty() && spec.logprobs() < 0) {
                            continue;
                        }
                        Object lp = null;
                        if (spec.logprobs() >= 0) {
                            if (chat) {
                                lp = Map.of("content", List.of(chatLogprob(t.event())));
                            } else {
                                ChoiceState s = new ChoiceState();
                                s.offsets.add(textLength[e.choice()]);
                                s.tokens.add(server.tokenText(t.event().token()));
                                s.tokenLogprobs.add(t.event().logprob());
                                Map<String, Float> top = new LinkedHashMap<>();
                                for (TokenEvent.TopLogprob tl : t.event().topLogprobs()) top.putIfAbsent(server.tokenText(tl.token()), tl.logprob());
                                s.top.add(top);
                                lp = completionLogprobs(s);
                            }
                        }
                        textLength[e.choice()] += text.length();
                        send(out, chunk(call, e.choice(), chat ? Map.of("content", text) : text, lp, null));
                        out.flush();
                    }
                    case ChoiceEvent.Finish f -> {
                        completion += f.completionTokens();
                        open--;
                        if (!f.trailingText().isEmpty()) {
                            send(out, chunk(call, f.choice(), chat ? Map.of("content", f.trailingText()) : f.trailingText(), null, null));
                        }
                        send(out, chunk(call, f.choice(), chat ? Map.of() : "", null, f.reason().apiName()));
                        out.flush();
                    }
                    case ChoiceEvent.Failure f -> {
                        server.metrics().error("server_error", 500);
                        Map<String, Object> err = new LinkedHashMap<>();
                        err.put("message", "generation failed: " + f.error().getMessage());
                        err.put("type", "server_error");
                        send(out, Map.of("error", err));
                        call.cancel();
                        out.flush();
                        return;
                    }
                }
            }
            if (spec.includeUsage()) {
                Map<String, Object> u = header(call, chat ? "chat.completion.chunk" : "text_completion");
                u.put("choices", List.of());
                u.put("usage", usage(call.promptTokens, completion));
                send(out, u);
            }
            out.write(DONE);
            out.flush();
        } catch (IOException e) {
            call.cancel(); // the client went away: free its sequences at the next step
        } catch (InterruptedException | RuntimeException e) {
            call.cancel();
            throw e;
        }
    }

    private Map<String, Object> chunk(GenerationCall call, int choice, Object delta, Object logprobs, String finish) {
        Map<String, Object> r = header(call, chat ? "chat.completion.chunk" : "text_completion");
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("index", choice);
        c.put(chat ? "delta" : "text", delta);
        c.put("logprobs", logprobs);
        c.put("finish_reason", finish);
        r.put("choices", List.of(c));
        return r;
    }

    private static void send(OutputStream out, Object event) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.US_ASCII));
        out.write(Json.write(event));
        out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
    }
}
