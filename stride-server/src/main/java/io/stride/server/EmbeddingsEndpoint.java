package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.stride.core.engine.EngineRequest;
import io.stride.core.engine.Finished;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.Pooling;
import io.stride.core.engine.TokenEvent;
import io.stride.core.engine.TokenSink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * POST /v1/embeddings: each input's final hidden states, pooled (mean by default, or the last token's; server
 * option {@code --pooling}) and scaled to unit length, as llama-server {@code --embeddings} does for a decoder
 * model. Inputs run in the engine like any prompt, so a vector does not depend on what else is batched with it.
 */
final class EmbeddingsEndpoint {
    static final int MAX_INPUTS = 256;
    private static final AtomicLong IDS = new AtomicLong();

    private final StrideServer server;

    EmbeddingsEndpoint(StrideServer server) {
        this.server = server;
    }

    /** One request's inputs in the engine; the drain can end it. */
    private static final class EmbeddingCall implements InFlight.Call {
        final List<CompletableFuture<float[]>> vectors = new ArrayList<>();
        final List<InferenceEngine.Handle> handles = new ArrayList<>();

        @Override
        public void abort(String message) {
            synchronized (handles) {
                handles.forEach(InferenceEngine.Handle::cancel);
            }
            vectors.forEach(v -> v.completeExceptionally(new ApiException(503, "server_error", message, null, "shutting_down")));
        }
    }

    void handle(Context ctx) throws Exception {
        JsonNode b = server.body(ctx);
        String model = RequestParser.optString(b, "model");
        if (!server.servesModel(model)) {
            throw server.unknownModel(model);
        }
        String format = RequestParser.optString(b, "encoding_format");
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiException.badRequest("encoding_format must be \"float\" or \"base64\", got \"" + format + "\"", "encoding_format");
        }
        int dim = server.model().config().dim();
        Integer dimensions = RequestParser.optInt(b, "dimensions", 1, Integer.MAX_VALUE);
        if (dimensions != null && dimensions != dim) {
            throw ApiException.badRequest("this model's embeddings have " + dim + " dimensions; shortening them (dimensions "
                    + dimensions + ") is not supported", "dimensions");
        }
        int ctxLen = server.engine().config().contextLength();
        List<int[]> inputs = inputs(b.get("input"), ctxLen);
        String client = server.access().client(ctx);
        server.access().acquire(client);
        EmbeddingCall call = new EmbeddingCall();
        try {
            server.inFlight().admit(call);
            try (ClientDisconnect watch = ClientDisconnect.watch(ctx, () -> call.abort("client gone"))) {
                submit(call, inputs);
                List<Object> data = new ArrayList<>();
                int tokens = 0;
                for (int i = 0; i < inputs.size(); i++) {
                    float[] v = await(call.vectors.get(i));
                    tokens += inputs.get(i).length;
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("object", "embedding");
                    e.put("index", i);
                    e.put("embedding", "base64".equals(format) ? base64(v) : v);
                    data.add(e);
                }
                watch.close();
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("object", "list");
                r.put("data", data);
                r.put("model", server.config().alias());
                r.put("usage", Map.of("prompt_tokens", tokens, "total_tokens", tokens));
                StrideServer.json(ctx, 200, r);
            } finally {
                server.inFlight().removeWhenSent(ctx, call);
                synchronized (call.handles) {
                    call.handles.forEach(InferenceEngine.Handle::cancel);
                }
            }
        } finally {
            server.access().release(client);
        }
    }

    private void submit(EmbeddingCall call, List<int[]> inputs) {
        Pooling pooling = server.config().pooling();
        String id = "embd-" + Long.toHexString(IDS.incrementAndGet());
        for (int i = 0; i < inputs.size(); i++) {
            CompletableFuture<float[]> f = new CompletableFuture<>();
            call.vectors.add(f);
            TokenSink sink = new TokenSink() {
                float[] vector;

                @Override
                public void onToken(TokenEvent event) {}

                @Override
                public void onEmbedding(float[] v) {
                    vector = v;
                }

                @Override
                public void onFinish(Finished done) {
                    if (vector != null) {
                        f.complete(vector);
                    } else {
                        f.completeExceptionally(new ApiException(499, "invalid_request_error", "cancelled", null, "cancelled"));
                    }
                }

                @Override
                public void onError(RuntimeException error) {
                    f.completeExceptionally(error);
                }
            };
            try {
                InferenceEngine.Handle h = server.engine().submit(EngineRequest.embedding(id + "-" + i, inputs.get(i), pooling, sink));
                synchronized (call.handles) {
                    call.handles.add(h);
                }
            } catch (RuntimeException e) {
                throw GenerationCall.refusal(e, "input");
            }
        }
    }

    private static float[] await(CompletableFuture<float[]> f) throws InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ApiException api) throw api;
            throw new ApiException(500, "server_error", "embedding failed: " + e.getCause().getMessage(), null, null);
        }
    }

    /** The inputs as token ids: a string, a list of strings, token ids, or a list of token-id lists. */
    private List<int[]> inputs(JsonNode in, int ctxLen) {
        if (in == null || in.isNull()) {
            throw ApiException.badRequest("input is required", "input");
        }
        List<JsonNode> items = new ArrayList<>();
        if (in.isArray() && !in.isEmpty() && (in.get(0).isTextual() || in.get(0).isArray())) {
            in.forEach(items::add);
        } else {
            items.add(in);
        }
        if (items.size() > MAX_INPUTS) {
            throw ApiException.badRequest("at most " + MAX_INPUTS + " inputs per request, got " + items.size(), "input");
        }
        List<int[]> out = new ArrayList<>();
        int vocab = server.model().config().vocab();
        for (JsonNode item : items) {
            int[] ids;
            if (item.isTextual()) {
                ids = server.encoder().encode(item.asText(), true, ctxLen, "input");
            } else if (item.isArray()) {
                if (item.size() > ctxLen) {
                    throw ApiException.badRequest("an input has " + item.size() + " tokens; the context holds " + ctxLen, "input");
                }
                ids = new int[item.size()];
                for (int i = 0; i < ids.length; i++) {
                    JsonNode t = item.get(i);
                    if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                        throw ApiException.badRequest("input must be text or token ids in [0, " + vocab + ")", "input");
                    }
                    ids[i] = t.asInt();
                }
            } else {
                throw ApiException.badRequest("input must be a string, an array of token ids, or a list of either", "input");
            }
            if (ids.length == 0) {
                throw ApiException.badRequest("an input is empty", "input");
            }
            out.add(ids);
        }
        return out;
    }

    private static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return Base64.getEncoder().encodeToString(b.array());
    }
}
