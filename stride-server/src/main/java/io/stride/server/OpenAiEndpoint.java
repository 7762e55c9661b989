package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.stride.core.engine.FinishReason;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.grammar.TokenGrammar;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * POST /v1/completions and /v1/chat/completions: validates the request, runs its choices in the engine and
 * answers as one JSON object or as server-sent events, following the OpenAI schema. What differs between the
 * two routes is a {@link ResponseShape}.
 */
final class OpenAiEndpoint {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    /** Most choices (prompts × n) one request may ask for. */
    static final int MAX_CHOICES = 64;

    private final StrideServer server;
    private final ResponseShape shape;
    private final boolean chat;

    OpenAiEndpoint(StrideServer server, boolean chat) {
        this.server = server;
        this.chat = chat;
        this.shape = chat ? new ChatShape(server) : new CompletionShape(server);
    }

    void handle(Context ctx) throws Exception {
        JsonNode body = server.body(ctx);
        GenerationSpec spec = RequestParser.parse(body, chat, server.config());
        if (!server.servesModel(spec.model())) {
            throw server.unknownModel(spec.model());
        }
        int vocab = server.model().config().vocab();
        for (int id : spec.sampling().logitBias().keySet()) {
            if (id < 0 || id >= vocab) {
                throw ApiException.badRequest("logit_bias token id " + id + " is outside the vocabulary [0, " + vocab + ")", "logit_bias");
            }
        }
        if (!shape.extraStops().isEmpty()) {
            spec = spec.withExtraStops(shape.extraStops());
        }
        String client = server.access().client(ctx);
        server.access().acquire(client);
        try {
            generate(ctx, body, spec);
        } finally {
            server.access().release(client);
        }
    }

    private void generate(Context ctx, JsonNode body, GenerationSpec spec) throws Exception {
        int ctxLen = server.engine().config().contextLength();
        int promptRoom = ctxLen - (spec.maxTokens() != null ? Math.min(spec.maxTokens(), ctxLen - 1) : 1);
        if (spec.tools() != null && spec.tools().forcesCalls()) {
            spec = spec.withGrammar(spec.tools().constraint(server.chatTemplate().toolFormat()));
        }
        List<Prompts.Prompt> prompts = shape.prompts(new Prompts(server), body, promptRoom, spec);
        if ((long) prompts.size() * spec.n() > MAX_CHOICES) {
            throw ApiException.badRequest(prompts.size() + " prompts × n = " + spec.n() + " make more than " + MAX_CHOICES + " choices", "n");
        }
        int longest = prompts.stream().mapToInt(p -> p.ids().length).max().orElse(0);
        int maxTokens = spec.maxTokens() != null ? spec.maxTokens()
                : Math.max(1, Math.min(server.config().defaultMaxTokens(), ctxLen - longest));
        if (longest + maxTokens > ctxLen) {
            String asked = spec.maxTokensRequested() != null ? Integer.toString(spec.maxTokensRequested()) : maxTokens + " (the default)";
            throw ApiException.badRequest("this model's maximum context length is " + ctxLen + " tokens; the prompt has " + longest
                    + " and max_tokens is " + asked + ", so at most " + Math.max(0, ctxLen - longest) + " can be generated",
                    spec.maxTokens() != null ? "max_tokens" : chat ? "messages" : "prompt");
        }
        TokenGrammar grammar = spec.grammar() == null ? null : server.encoder().grammar(spec.grammar().gbnf(), spec.grammar().field());
        GenerationCall call = new GenerationCall(shape.idPrefix(), prompts.stream().map(Prompts.Prompt::ids).toList(), spec.n());
        server.inFlight().admit(call);
        try (ClientDisconnect watch = ClientDisconnect.watch(ctx, call::cancel)) {
            call.start(server.engine(), spec, maxTokens, grammar);
            String[] echo = new String[call.choices];
            if (spec.echo()) {
                for (int c = 0; c < echo.length; c++) {
                    Prompts.Prompt p = prompts.get(c / spec.n());
                    echo[c] = p.text() != null ? p.text() : server.tokenizer().decode(p.ids());
                }
            }
            if (spec.stream()) {
                stream(ctx, call, spec, echo);
            } else {
                complete(ctx, call, spec, echo, watch);
            }
        } finally {
            server.inFlight().removeWhenSent(ctx, call);
        }
    }

    /** Per-choice accumulation for non-streaming answers. */
    private static final class ChoiceState {
        final StringBuilder text = new StringBuilder();
        /** the text with the tool-call markers that are control tokens written out (when calls are read) */
        final StringBuilder raw = new StringBuilder();
        ResponseShape.Logprobs logprobs;
        FinishReason finish;
        int completionTokens;
        int cachedTokens;
    }

    /** The format calls are read in, or null when this request's output is not read for calls. */
    private ToolFormat toolFormat(GenerationSpec spec) {
        return chat && spec.tools() != null && spec.tools().parsesCalls() ? server.chatTemplate().toolFormat() : null;
    }

    /** A token's text for reading calls: a control token that is the format's call marker is written out. */
    private String toolText(io.stride.core.engine.TokenEvent e, ToolFormat tools) {
        if (!e.text().isEmpty() || e.token() < 0) return e.text();
        String piece = server.tokenizer().vocabulary().token(e.token());
        return tools.marker.equals(piece) ? piece : "";
    }

    private void complete(Context ctx, GenerationCall call, GenerationSpec spec, String[] echo, ClientDisconnect watch)
            throws InterruptedException {
        ToolFormat tools = toolFormat(spec);
        ChoiceState[] states = new ChoiceState[call.choices];
        for (int i = 0; i < states.length; i++) {
            states[i] = new ChoiceState();
            if (echo[i] != null) states[i].text.append(echo[i]);
            if (spec.logprobs() >= 0) states[i].logprobs = shape.newLogprobs();
        }
        int open = call.choices;
        try {
            while (open > 0) {
                switch (call.next()) {
                    case ChoiceEvent.Token t -> {
                        ChoiceState s = states[t.choice()];
                        if (s.logprobs != null) s.logprobs.add(t.event(), s.text.length());
                        s.text.append(t.event().text());
                        if (tools != null) s.raw.append(toolText(t.event(), tools));
                    }
                    case ChoiceEvent.Finish f -> {
                        ChoiceState s = states[f.choice()];
                        s.text.append(f.trailingText());
                        s.raw.append(f.trailingText());
                        s.finish = f.reason();
                        s.completionTokens = f.completionTokens();
                        s.cachedTokens = f.done().cachedPromptTokens();
                        open--;
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
        List<Object> choices = new ArrayList<>();
        int completion = 0;
        for (int i = 0; i < states.length; i++) {
            ChoiceState s = states[i];
            completion += s.completionTokens;
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("index", i);
            Object lp = s.logprobs == null ? null : s.logprobs.json();
            ToolFormat.Parsed parsed = tools == null ? null : tools.parse(s.raw.toString());
            if (parsed != null && !parsed.calls().isEmpty()) {
                List<ToolFormat.ToolCall> calls = spec.tools().parallel() ? parsed.calls() : parsed.calls().subList(0, 1);
                c.putAll(ChatShape.toolChoice(new ToolFormat.Parsed(parsed.content(), calls), lp));
                c.put("finish_reason", s.finish == FinishReason.STOP ? "tool_calls" : s.finish == null ? null : s.finish.apiName());
            } else {
                c.putAll(shape.choice(s.text.toString(), lp));
                c.put("finish_reason", s.finish == null ? null : s.finish.apiName());
            }
            choices.add(c);
        }
        Map<String, Object> r = header(call, shape.object());
        r.put("choices", choices);
        r.put("usage", usage(call, completion, cachedTokens(call, states)));
        StrideServer.json(ctx, 200, r);
    }

    /** Cached prompt tokens, counted like prompt tokens: once per prompt (its first choice). */
    private static int cachedTokens(GenerationCall call, ChoiceState[] states) {
        int cached = 0;
        for (int p = 0; p < call.prompts.size(); p++) cached += states[p * call.n].cachedTokens;
        return cached;
    }

    private Map<String, Object> header(GenerationCall call, String object) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", call.id);
        r.put("object", object);
        r.put("created", System.currentTimeMillis() / 1000);
        r.put("model", server.config().alias());
        return r;
    }

    static Map<String, Object> usage(GenerationCall call, int completion, int cached) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", call.promptTokens);
        u.put("completion_tokens", completion);
        u.put("total_tokens", call.promptTokens + completion);
        u.put("prompt_tokens_details", Map.of("cached_tokens", cached));
        return u;
    }

    private void stream(Context ctx, GenerationCall call, GenerationSpec spec, String[] echo) throws InterruptedException {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream");
        ctx.res().setCharacterEncoding("utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        int open = call.choices;
        int completion = 0;
        int[] cached = new int[call.choices];
        int[] textLength = new int[call.choices];
        ToolFormat tools = toolFormat(spec);
        ToolCallStream[] calls = new ToolCallStream[call.choices];
        if (tools != null) {
            for (int c = 0; c < calls.length; c++) calls[c] = new ToolCallStream(tools, spec.tools().parallel());
        }
        try {
            OutputStream out = ctx.res().getOutputStream();
            for (int c = 0; c < call.choices; c++) {
                Object first = shape.firstDelta(echo[c]);
                if (first != null) {
                    send(out, chunk(call, c, first, null, null));
                }
            }
            out.flush();
            while (open > 0) {
                ChoiceEvent e = call.next();
                switch (e) {
                    case ChoiceEvent.Token t -> {
                        String text = t.event().text();
                        if (tools != null) {
                            List<ToolCallStream.Piece> pieces = calls[t.choice()].add(toolText(t.event(), tools));
                            textLength[t.choice()] += text.length();
                            Object lp = null;
                            if (spec.logprobs() >= 0) {
                                ResponseShape.Logprobs one = shape.newLogprobs();
                                one.add(t.event(), textLength[t.choice()] - text.length());
                                lp = one.json();
                            }
                            sendPieces(out, call, t.choice(), pieces, lp);
                            out.flush();
                            continue;
                        }
                        if (text.isEmpty() && spec.logprobs() < 0) {
                            continue;
                        }
                        Object lp = null;
                        if (spec.logprobs() >= 0) {
                            ResponseShape.Logprobs one = shape.newLogprobs();
                            one.add(t.event(), textLength[t.choice()]);
                            lp = one.json();
                        }
                        textLength[t.choice()] += text.length();
                        send(out, chunk(call, t.choice(), shape.delta(text), lp, null));
                        out.flush();
                    }
                    case ChoiceEvent.Finish f -> {
                        completion += f.completionTokens();
                        cached[f.choice()] = f.done().cachedPromptTokens();
                        open--;
                        String reason = f.reason().apiName();
                        if (tools != null) {
                            ToolCallStream s = calls[f.choice()];
                            List<ToolCallStream.Piece> pieces = new ArrayList<>(s.add(f.trailingText()));
                            pieces.addAll(s.finish());
                            sendPieces(out, call, f.choice(), pieces, null);
                            if (s.called() && f.reason() == FinishReason.STOP) reason = "tool_calls";
                        } else if (!f.trailingText().isEmpty()) {
                            send(out, chunk(call, f.choice(), shape.delta(f.trailingText()), null, null));
                        }
                        send(out, chunk(call, f.choice(), shape.finalDelta(), null, reason));
                        out.flush();
                    }
                    case ChoiceEvent.Failure f -> {
                        server.metrics().error("server_error", 500);
                        send(out, errorEvent("generation failed: " + f.error().getMessage(), null));
                        call.cancel();
                        out.flush();
                        return;
                    }
                    case ChoiceEvent.Aborted a -> {
                        server.metrics().error("server_error", 503);
                        send(out, errorEvent(a.message(), "shutting_down"));
                        out.write(DONE);
                        out.flush();
                        return;
                    }
                }
            }
            if (spec.includeUsage()) {
                int cachedSum = 0;
                for (int p = 0; p < call.prompts.size(); p++) cachedSum += cached[p * call.n];
                Map<String, Object> u = header(call, shape.chunkObject());
                u.put("choices", List.of());
                u.put("usage", usage(call, completion, cachedSum));
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

    /**
     * Sends a streamed choice's content and tool-call pieces, each call whole in one delta (name and all its
     * arguments); {@code logprobs} rides on the first chunk, or on an empty delta when nothing else goes out.
     */
    private void sendPieces(OutputStream out, GenerationCall call, int choice, List<ToolCallStream.Piece> pieces, Object logprobs)
            throws IOException {
        if (pieces.isEmpty() && logprobs != null) {
            send(out, chunk(call, choice, Map.of(), logprobs, null));
        }
        for (ToolCallStream.Piece p : pieces) {
            Object delta = switch (p) {
                case ToolCallStream.Content c -> shape.delta(c.text());
                case ToolCallStream.Call c -> Map.of("tool_calls", List.of(ChatShape.toolCall(c.call(), c.index())));
            };
            send(out, chunk(call, choice, delta, logprobs, null));
            logprobs = null;
        }
    }

    private static Map<String, Object> errorEvent(String message, String code) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", message);
        err.put("type", "server_error");
        err.put("param", null);
        err.put("code", code);
        return Map.of("error", err);
    }

    private Map<String, Object> chunk(GenerationCall call, int choice, Object delta, Object logprobs, String finish) {
        Map<String, Object> r = header(call, shape.chunkObject());
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("index", choice);
        c.put(shape.deltaKey(), delta);
        c.put("logprobs", logprobs);
        c.put("finish_reason", finish);
        r.put("choices", List.of(c));
        return r;
    }

    static void send(OutputStream out, Object event) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.US_ASCII));
        out.write(Json.write(event));
        out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
    }
}
