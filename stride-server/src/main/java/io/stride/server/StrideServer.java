package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.model.Model;
import io.stride.core.tokenizer.Tokenizer;
import io.stride.core.tokenizer.Vocabulary;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The OpenAI-compatible HTTP server (Javalin on Jetty, virtual threads): /v1/completions, /v1/chat/completions,
 * /v1/models, the probes /health (liveness) and /ready (readiness), and /metrics, over one {@link InferenceEngine}.
 * Every answer, Jetty's own errors included, is JSON; {@link #drain} ends it gracefully.
 */
public final class StrideServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StrideServer.class);
    private static final Set<String> PROBES = Set.of("/health", "/ready");

    private final ServerConfig cfg;
    private final InferenceEngine engine;
    private final Model model;
    private final ServerMetrics metrics;
    private final ChatTemplate chatTemplate;
    private final long created = System.currentTimeMillis() / 1000;
    private final String fileName;
    private final ClientAccess access;
    private final PromptEncoder encoder;
    private final InFlight inFlight = new InFlight();
    private Javalin app;
    /** non-null on a --role prefill server: how long /internal/prefill may take */
    private Duration prefillTimeout;

    public StrideServer(ServerConfig cfg, InferenceEngine engine, ServerMetrics metrics, String fileName) {
        this.cfg = cfg;
        this.engine = engine;
        this.model = engine.model();
        this.metrics = metrics;
        this.fileName = fileName;
        Vocabulary v = model.tokenizer().vocabulary();
        this.chatTemplate = new ChatTemplate(model.file().meta().string("tokenizer.chat_template", null),
                v.bos() >= 0 ? v.token(v.bos()) : "", v.eos() >= 0 ? v.token(v.eos()) : "");
        this.access = new ClientAccess(cfg.apiKeys(), cfg.maxConcurrentPerKey());
        this.encoder = new PromptEncoder(model.tokenizer(), cfg.tokenizerThreads());
        metrics.bind(engine);
        metrics.bindServer(inFlight::size, this::ready);
        if (chatTemplate.isBuiltin()) {
            LOG.warn("{} has no chat template: /v1/chat/completions and /v1/messages render conversations as ChatML "
                    + "(<|im_start|>role ... <|im_end|>), and <|im_end|> ends a reply", fileName);
        }
    }

    /**
     * Makes this the prefill side of disaggregated serving: {@code POST /internal/prefill} computes a prompt and
     * publishes its blocks to the engine's shared KV store (see {@link PrefillEndpoint}). Call before {@link #start}.
     */
    public StrideServer prefillRole(Duration timeout) {
        if (engine.kvTier() == null) {
            throw new IllegalArgumentException("--role prefill needs --kv-store: the prefill server publishes to it");
        }
        this.prefillTimeout = timeout;
        return this;
    }

    /** Starts listening; returns the bound port (useful with port 0). Throws IllegalStateException when it cannot bind. */
    public int start() {
        app = Javalin.create(config -> {
            config.concurrency.useVirtualThreads = true;
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.maxRequestSize = cfg.maxBodyBytes();
            config.router.ignoreTrailingSlashes = true;
            config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
            config.jetty.addConnector((server, http) -> {
                http.setSendServerVersion(false);
                ServerConnector c = new ServerConnector(server, new HttpConnectionFactory(http));
                c.setHost(cfg.host());
                c.setPort(cfg.port());
                c.setIdleTimeout(cfg.bodyTimeout().toMillis());
                return c;
            });
            if (!cfg.corsOrigins().isEmpty()) {
                config.bundledPlugins.enableCors(cors -> cors.addRule(rule -> {
                    if (cfg.corsOrigins().contains("*")) {
                        rule.anyHost();
                    } else {
                        rule.allowHost(cfg.corsOrigins().getFirst(), cfg.corsOrigins().subList(1, cfg.corsOrigins().size()).toArray(String[]::new));
                    }
                    rule.maxAge = 600;
                }));
            }
            config.routes.before(this::admit);
            config.routes.get("/health", this::health);
            config.routes.get("/ready", this::readiness);
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
            config.routes.get("/v1/models", this::models);
            config.routes.get("/v1/models/{id}", this::model);
            config.routes.post("/v1/completions", ctx -> new OpenAiEndpoint(this, false).handle(ctx));
            config.routes.post("/v1/chat/completions", ctx -> new OpenAiEndpoint(this, true).handle(ctx));
            config.routes.post("/v1/embeddings", ctx -> new EmbeddingsEndpoint(this).handle(ctx));
            config.routes.post("/v1/messages", ctx -> new MessagesEndpoint(this).handle(ctx));
            config.routes.post("/tokenize", ctx -> new TokenizeEndpoints(this).tokenize(ctx));
            config.routes.post("/detokenize", ctx -> new TokenizeEndpoints(this).detokenize(ctx));
            if (prefillTimeout != null) {
                config.routes.post("/internal/prefill", ctx -> new PrefillEndpoint(this, prefillTimeout).handle(ctx));
            }
            config.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> {
                int status = e.getStatus();
                String message = switch (status) {
                    case 413 -> "request body too large (limit " + cfg.maxBodyBytes() + " bytes)";
                    case 404 -> "no route " + ctx.method() + " " + ctx.path();
                    case 405 -> "method " + ctx.method() + " not allowed on " + ctx.path();
                    default -> HttpResponseException.class.getSimpleName().equals(e.getMessage()) ? "request failed" : e.getMessage();
                };
                error(ctx, new ApiException(status, status < 500 ? "invalid_request_error" : "server_error", message, null,
                        status == 404 ? "not_found" : null));
            });
            config.routes.exception(Exception.class, (e, ctx) -> {
                LOG.warn("unexpected error on {} {}: {}", ctx.method(), ctx.path(), e.toString(), e);
                error(ctx, new ApiException(500, "server_error", "internal error", null, null));
            });
            config.routes.error(404, ctx -> {
                if (ctx.result() == null || !ctx.result().startsWith("{\"error\"")) {
                    error(ctx, new ApiException(404, "invalid_request_error", "no route " + ctx.method() + " " + ctx.path(), null, "not_found"));
                }
            });
            config.routes.error(405, ctx -> error(ctx, new ApiException(405, "invalid_request_error",
                    "method " + ctx.method() + " not allowed on " + ctx.path(), null, null)));
        });
        try {
            app.start();
        } catch (RuntimeException e) {
            throw bindError(e);
        }
        LOG.info("serving {} on http://{}:{}", cfg.alias(), cfg.host(), app.port());
        return app.port();
    }

    private IllegalStateException bindError(RuntimeException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof BindException b) {
                String why = String.valueOf(b.getMessage());
                String hint = why.contains("in use") ? "the port is already in use"
                        : why.contains("assign") ? "the address is not one of this machine's"
                        : why.contains("ermission") ? "binding that port needs privileges" : why;
                return new IllegalStateException("cannot listen on " + cfg.host() + ":" + cfg.port() + ": " + hint + " (" + why + ")", e);
            }
        }
        return new IllegalStateException("cannot start the HTTP server on " + cfg.host() + ":" + cfg.port() + ": " + e.getMessage(), e);
    }

    /** Runs before every route: authentication (all but the probes) and, while draining, 503 for new work. */
    private void admit(Context ctx) {
        String path = normalized(ctx.path());
        if (PROBES.contains(path) || ctx.method().name().equals("OPTIONS")) {
            return; // probes answer anyone; a CORS preflight carries no credentials by design
        }
        access.authenticate(ctx);
        if (inFlight.draining() && ctx.method().name().equals("POST")) {
            ctx.header("Connection", "close");
            throw shuttingDown();
        }
    }

    static ApiException shuttingDown() {
        return new ApiException(503, "server_error", "the server is shutting down; retry on another replica", null, "shutting_down");
    }

    private static String normalized(String path) {
        int end = path.length();
        while (end > 1 && path.charAt(end - 1) == '/') end--;
        return path.substring(0, end);
    }

    private void health(Context ctx) {
        if (engine.alive()) {
            json(ctx, 200, Map.of("status", "ok"));
        } else {
            json(ctx, 503, Map.of("status", "error", "message", engineState()));
        }
    }

    private void readiness(Context ctx) {
        if (ready()) {
            json(ctx, 200, Map.of("status", "ready"));
        } else {
            json(ctx, 503, Map.of("status", inFlight.draining() ? "draining" : "error", "message",
                    inFlight.draining() ? "the server is shutting down" : engineState()));
        }
    }

    /** Ready for new requests: started, not draining, engine thread alive. */
    public boolean ready() {
        return app != null && !inFlight.draining() && engine.alive();
    }

    private String engineState() {
        Throwable f = engine.failure();
        return engine.alive() ? "ok" : f != null ? "engine thread died: " + f : "engine stopped";
    }

    /**
     * Graceful shutdown: from now on new generation requests get 503 and /ready says so; requests in flight run
     * on for up to {@code timeout}; then those left are ended (streams with a final error event and [DONE],
     * others with a 503). Returns how many finished and how many were ended. The HTTP server keeps running
     * until {@link #close}.
     */
    public InFlight.Report drain(Duration timeout) {
        InFlight.Report r = inFlight.drain(timeout, Duration.ofSeconds(5));
        LOG.info("shutdown: {} request(s) finished during the drain, {} ended by the shutdown after {} s",
                r.finished(), r.ended(), timeout.toSeconds());
        return r;
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

    ClientAccess access() {
        return access;
    }

    PromptEncoder encoder() {
        return encoder;
    }

    public InFlight inFlight() {
        return inFlight;
    }

    long created() {
        return created;
    }

    /** Whether {@code name} (from a request) names this server's model. */
    boolean servesModel(String name) {
        return name == null || name.equals(cfg.alias()) || name.equals(fileName);
    }

    private Map<String, Object> modelObject() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", cfg.alias());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "stride");
        m.put("max_model_len", engine.config().contextLength());
        return m;
    }

    private void models(Context ctx) {
        json(ctx, 200, Map.of("object", "list", "data", List.of(modelObject())));
    }

    private void model(Context ctx) {
        String id = ctx.pathParam("id");
        if (!id.equals(cfg.alias()) && !id.equals(fileName)) {
            throw unknownModel(id);
        }
        json(ctx, 200, modelObject());
    }

    ApiException unknownModel(String name) {
        return new ApiException(404, "invalid_request_error", "the model '" + name + "' does not exist; this server serves '"
                + cfg.alias() + "'", "model", "model_not_found");
    }

    void error(Context ctx, ApiException e) {
        metrics.error(e.type(), e.status());
        if (normalized(ctx.path()).equals("/v1/messages")) {
            json(ctx, e.status(), MessagesEndpoint.errorBody(e));
            return;
        }
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

    /** The request body as a JSON object, read under the body limits. */
    JsonNode body(Context ctx) {
        return Json.parseObject(RequestBody.read(ctx, cfg.maxBodyBytes(), cfg.bodyTimeout().toNanos()));
    }

    @Override
    public void close() {
        if (app != null) {
            app.stop();
        }
        encoder.close();
    }
}
