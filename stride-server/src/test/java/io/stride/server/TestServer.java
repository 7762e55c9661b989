package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.engine.EngineConfig;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An in-process server on a free loopback port over javatiny-26m, plus small HTTP helpers for tests. */
final class TestServer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final Model model;
    final WorkerPool pool;
    final InferenceEngine engine;
    final StrideServer server;
    final ServerMetrics metrics;
    final int port;
    final String apiKey;
    final Map<String, io.stride.core.spec.DraftMethod> drafters = new java.util.LinkedHashMap<>();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    static Builder builder() {
        return new Builder();
    }

    static final class Builder {
        int maxBatchTokens = 64;
        int kvBlocks = 1024;
        int maxSeqs = 32;
        int maxQueue = 512;
        int ctx = 2048;
        boolean chunked = true;
        boolean prefixCache = true;
        String apiKey;
        String extraApiKey;
        String modelFile = "javatiny-26m-f16.gguf";
        /** a model outside the shared folder (made by the test), instead of {@link #modelFile} */
        java.nio.file.Path modelPath;
        List<String> specs = List.of();
        int specMax = 16;
        Duration bodyTimeout = Duration.ofSeconds(30);
        int maxConcurrentPerKey;
        int repetitionWindow;
        io.stride.core.kv.KvCacheConfig kvCache = io.stride.core.kv.KvCacheConfig.DEFAULT;
        /** a KV cache size in bytes (in the cache types' bytes), instead of {@link #kvBlocks} */
        Long kvMemory;

        Builder maxBatchTokens(int v) { maxBatchTokens = v; return this; }
        Builder modelFile(String v) { modelFile = v; return this; }
        Builder modelPath(java.nio.file.Path v) { modelPath = v; return this; }
        Builder kvBlocks(int v) { kvBlocks = v; return this; }
        Builder ctx(int v) { ctx = v; return this; }
        Builder maxSeqs(int v) { maxSeqs = v; return this; }
        Builder maxQueue(int v) { maxQueue = v; return this; }
        Builder chunked(boolean v) { chunked = v; return this; }
        Builder prefixCache(boolean v) { prefixCache = v; return this; }
        Builder apiKey(String v) { apiKey = v; return this; }
        Builder extraApiKey(String v) { extraApiKey = v; return this; }
        Builder spec(List<String> v, int max) { specs = v; specMax = max; return this; }
        Builder bodyTimeout(Duration v) { bodyTimeout = v; return this; }
        Builder maxConcurrentPerKey(int v) { maxConcurrentPerKey = v; return this; }
        Builder repetitionWindow(int v) { repetitionWindow = v; return this; }
        Builder kvCache(io.stride.core.kv.KvCacheConfig v) { kvCache = v; return this; }
        Builder kvMemory(long bytes) { kvMemory = bytes; return this; }

        TestServer start() {
            return new TestServer(this);
        }
    }

    private TestServer(Builder b) {
        apiKey = b.apiKey;
        model = Model.open(b.modelPath != null ? b.modelPath : SharedData.model(b.modelFile));
        pool = new WorkerPool(2);
        Transformer tf = new Transformer(model, pool);
        int blocks = b.kvMemory == null ? b.kvBlocks : io.stride.core.kv.KvCacheSize.resolve(model.config(), b.kvCache,
                b.ctx, b.maxSeqs, null, b.kvMemory).blocks();
        PagedKvCache cache = tf.newCache(b.kvCache, 16, blocks);
        metrics = new ServerMetrics();
        for (String sp : b.specs) {
            io.stride.core.spec.DraftMethod dm = io.stride.core.spec.DraftMethods.create(sp, model, pool, b.ctx, b.maxSeqs);
            drafters.put(dm.name(), dm);
        }
        var specConfig = new io.stride.core.engine.SpeculationConfig(drafters,
                drafters.isEmpty() ? null : drafters.keySet().iterator().next(), b.specMax);
        engine = model.isDiffusion()
                ? io.stride.core.engine.EngineBuilder.of(model, pool).context(b.ctx).maxQueue(b.maxQueue).listener(metrics).build()
                : new InferenceEngine(model, tf, cache, new EngineConfig(b.maxBatchTokens, b.maxSeqs, b.maxQueue, b.ctx, b.chunked,
                b.prefixCache, b.repetitionWindow), metrics, specConfig);
        ServerConfig sc = ServerConfig.of("127.0.0.1", 0, "javatiny", b.ctx, 64)
                .withApiKeys(java.util.stream.Stream.of(b.apiKey, b.extraApiKey).filter(java.util.Objects::nonNull).toList())
                .withBodyLimits(4L << 20, b.bodyTimeout).withMaxConcurrentPerKey(b.maxConcurrentPerKey);
        server = new StrideServer(sc, engine, metrics, b.modelFile);
        port = server.start();
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    HttpResponse<String> post(String path, Object body) throws Exception {
        byte[] bytes = body instanceof byte[] b ? b : body instanceof String s ? s.getBytes() : JSON.writeValueAsBytes(body);
        return http.send(HttpRequest.newBuilder(URI.create(url() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url() + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** GET with the server's first API key, when it has one. */
    HttpResponse<String> getAuthorized(String path) throws Exception {
        return http.send(authorized(HttpRequest.newBuilder(URI.create(url() + path))).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Adds the server's first API key, when it has one. */
    HttpRequest.Builder authorized(HttpRequest.Builder b) {
        return apiKey == null ? b : b.header("Authorization", "Bearer " + apiKey);
    }

    /** Greedy completion text of a prompt (non-streaming). */
    String complete(String prompt, int maxTokens) throws Exception {
        HttpResponse<String> r = post("/v1/completions", Map.of("prompt", prompt, "max_tokens", maxTokens, "temperature", 0));
        if (r.statusCode() != 200) throw new AssertionError("HTTP " + r.statusCode() + ": " + r.body());
        return JSON.readTree(r.body()).get("choices").get(0).get("text").asText();
    }

    /** A streamed completion: its text chunks with their arrival times (ns). */
    record Streamed(String text, List<Long> arrivals, JsonNode usage) {}

    Streamed stream(Map<String, Object> body) throws Exception {
        var req = HttpRequest.newBuilder(URI.create(url() + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<java.util.stream.Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
        if (r.statusCode() != 200) throw new AssertionError("HTTP " + r.statusCode());
        StringBuilder text = new StringBuilder();
        List<Long> arrivals = new ArrayList<>();
        JsonNode usage = null;
        for (String line : (Iterable<String>) r.body()::iterator) {
            if (!line.startsWith("data: ")) continue;
            String data = line.substring(6);
            if (data.equals("[DONE]")) break;
            JsonNode n = JSON.readTree(data);
            if (n.path("usage").isObject()) usage = n.get("usage");
            JsonNode c = n.path("choices");
            if (c.isArray() && !c.isEmpty()) {
                String t = c.get(0).path("text").asText("");
                if (!t.isEmpty()) {
                    text.append(t);
                    arrivals.add(System.nanoTime());
                }
            }
        }
        return new Streamed(text.toString(), arrivals, usage);
    }

    /** A logit_bias that keeps every end-of-generation token from being sampled: generation runs to max_tokens. */
    Map<String, Integer> noEndBias() {
        Map<String, Integer> bias = new java.util.LinkedHashMap<>();
        var v = model.tokenizer().vocabulary();
        for (int id = 0; id < model.config().vocab(); id++) {
            if (v.isEndOfGeneration(id)) bias.put(Integer.toString(id), -100);
        }
        return bias;
    }

    /** The value of a Prometheus sample line starting with {@code prefix} (summed over label sets). */
    double metric(String prefix) throws Exception {
        double sum = 0;
        boolean found = false;
        for (String line : getAuthorized("/metrics").body().split("\n")) {
            if (line.startsWith(prefix) && (line.charAt(prefix.length()) == ' ' || line.charAt(prefix.length()) == '{')) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        if (!found) throw new AssertionError("no metric " + prefix);
        return sum;
    }

    @Override
    public void close() {
        server.close();
        engine.close();
        drafters.values().forEach(io.stride.core.spec.DraftMethod::close);
        pool.close();
        model.close();
    }
}
