package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.model.Model;
import io.stride.core.tokenizer.Tokenizer;
import io.stride.core.tokenizer.Vocabulary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The OpenAI-compatible HTTP server (Javalin on Jetty, virtual threads): /v1/completions, /v1/chat/completions,
 * /v1/models, /health and /metrics over one {@link InferenceEngine}.
 */
public final class StrideServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StrideServer.class);

    private final ServerConfig cfg;
    private final InferenceEngine engine;
    private final Model model;
    private final ServerMetrics metrics;
    private final ChatTemplate chatTemplate;
    private final long created = System.currentTimeMillis() / 1000;
    private final String fileName;
    private Javalin app;

    public StrideServer(ServerConfig cfg, InferenceEngine engine, ServerMetrics metrics, String fileName) {
        this.cfg = cfg;
        this.engine = engine;
        this.model = engine.model();
        this.metrics = metrics;
        this.fileName = fileName;
        Vocabulary v = model.tokenizer().vocabulary();
        this.chatTemplate = new ChatTemplate(model.file().meta().string("tokenizer.chat_template", null),
                v.bos() >= 0 ? v.token(v.bos()) : "", v.eos() >= 0 ? v.token(v.eos()) : "");
        metrics.bind(engine);
    }

    /** Starts listening; returns the bound port (useful with port 0). */
    public int start() {
        app = Javalin.create(config -> {
            config.useVirtualThreads = true;
            config.showJavalinBanner = false;
            config.http.maxRequestSize = cfg.maxBodyBytes();
            config.router.ignoreTrailingSlashes = true;
        });
        app.before(this::authenticate);
        app.get("/health", ctx -> json(ctx, 200, Map.of("status", "ok")));
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
        app.get("/v1/models", this::models);
        app.post("/v1/completions", ctx -> new OpenAiEndpoint(this, false).handle(ctx));
        app.post("/v1/chat/completions", ctx -> new OpenAiEndpoint(this, true).handle(ctx));
        app.exception(ApiException.class, (e, ctx) -> error(ctx, e));
        app.exception(HttpResponseException.class, (e, ctx) -> {
            int status = e.getStatus();
            String message = switch (status) {
                case 413 -> "request body too large (limit " + cfg.maxBodyBytes() + " bytes)";
                case 404 -> "no route " + ctx.method() + " " + ctx.path();
                case 405 -> "method " + ctx.method() + " not allowed on " + ctx.path();
                default -> e.getMessage();
            };
            error(ctx, new ApiException(status, status < 500 ? "invalid_request_error" : "server_error", message, null,
                    status == 404 ? "not_found" : null));
        });
        app.exception(Exception.class, (e, ctx) -> {
            LOG.warn("unexpected error on {} {}: {}", ctx.method(), ctx.path(), e.toString(), e);
            error(ctx, new ApiException(500, "server_error", "internal error: " + e.getClass().getSimpleName(), null, null));
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || !ctx.result().startsWith("{\"error\"")) {
                error(ctx, new ApiException(404, "invalid_request_error", "no route " + ctx.method() + " " + ctx.path(), null, "not_found"));
            }
        });
        app.error(405, ctx -> error(ctx, new ApiException(405, "invalid_request_error", "method " + ctx.method() + " not allowed on " + ctx.path(), null, null)));
        app.start(cfg.host(), cfg.port());
        LOG.info("serving {} on http://{}:{}", cfg.alias(), cfg.host(), app.port());
        return app.port();
    }

    ServerConfig config() {
        return cfg;
    }

    InferenceEngine engine() {
        return engine;
    }

    Model model() {
        return model;
    }

    ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    ServerMetrics metrics() {
        return metrics;
    }

    long created() {
        return created;
    }

    /** Whether {@code name} (from a request) names this server's model. */
    boolean servesModel(String name) {
        return name == null || name.equals(cfg.alias()) || name.equals(fileName);
    }

    private void authenticate(Context ctx) {
        if (cfg.apiKey() == null || ctx.path().equals("/health")) {
            return;
        }
        String h = ctx.header("Authorization");
        if (h == null || !h.equals("Bearer " + cfg.apiKey())) {
            throw new ApiException(401, "invalid_request_error", "missing or invalid API key (Authorization: Bearer ...)", null, "invalid_api_key");
        }
    }

    private void models(Context ctx) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", cfg.alias());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "stride");
        m.put("max_model_len", engine.config().contextLength());
        json(ctx, 200, Map.of("object", "list", "data", List.of(m)));
    }

    void error(Context ctx, ApiException e) {
        metrics.error(e.type(), e.status());
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        json(ctx, e.status(), Map.of("error", err));
    }

    static void json(Context ctx, int status, Object body) {
        ctx.status(status).contentType("application/json").result(Json.write(body));
    }

    /** Text of a token as a client sees it in logprobs (may be a partial character). */
    String tokenText(int id) {
        return new String(model.tokenizer().tokenBytes(id), StandardCharsets.UTF_8);
    }

    List<Integer> tokenBytes(int id) {
        byte[] b = model.tokenizer().tokenBytes(id);
        List<Integer> out = new ArrayList<>(b.length);
        for (byte x : b) out.add(x & 0xff);
        return out;
    }

    Tokenizer tokenizer() {
        return model.tokenizer();
    }

    static JsonNode body(Context ctx) {
        return Json.parseObject(ctx.bodyAsBytes());
    }

    @Override
    public void close() {
        if (app != null) {
            app.stop();
        }
    }
}
