package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.stride.core.engine.EngineRequest;
import io.stride.core.engine.Finished;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.TokenEvent;
import io.stride.core.engine.TokenSink;
import io.stride.core.kv.tier.KvTier;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code POST /internal/prefill} of a {@code --role prefill} server: computes a prompt's keys and values (one
 * generation step, its token discarded) and answers when its full blocks are in the shared store, so that the decode
 * server that sent it fetches them. Body: {@code {"prompt_token_ids": [...], "salt": N}} (the tenant salt the decode
 * server derived from the request's cache_salt). Answers {@code {"prompt_tokens": n, "published_blocks": total}}.
 */
final class PrefillEndpoint {
    private static final AtomicLong IDS = new AtomicLong();
    private final StrideServer server;
    private final Duration timeout;

    PrefillEndpoint(StrideServer server, Duration timeout) {
        this.server = server;
        this.timeout = timeout;
    }

    void handle(Context ctx) throws Exception {
        JsonNode b = server.body(ctx);
        JsonNode ids = b.get("prompt_token_ids");
        if (ids == null || !ids.isArray() || ids.isEmpty()) {
            throw ApiException.badRequest("prompt_token_ids must be a non-empty array of token ids", "prompt_token_ids");
        }
        int[] prompt = new int[ids.size()];
        for (int i = 0; i < prompt.length; i++) {
            JsonNode t = ids.get(i);
            if (!t.isInt()) {
                throw ApiException.badRequest("prompt_token_ids[" + i + "] is not a token id", "prompt_token_ids");
            }
            prompt[i] = t.intValue();
        }
        JsonNode salt = b.get("salt");
        if (salt != null && !salt.isIntegralNumber()) {
            throw ApiException.badRequest("salt must be an integer", "salt");
        }
        InferenceEngine engine = server.engine();
        KvTier tier = engine.kvTier();
        CompletableFuture<Void> done = new CompletableFuture<>();
        InferenceEngine.Handle h;
        try {
            h = engine.submit(new EngineRequest("prefill-" + IDS.incrementAndGet(), prompt, GenerationParams.greedy(1), -1,
                    salt == null ? 0 : salt.longValue(), new Sink(done)));
        } catch (RuntimeException e) {
            throw GenerationCall.refusal(e, "prompt_token_ids");
        }
        try {
            done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            tier.flush().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            h.cancel();
            throw new ApiException(504, "server_error", "prefill did not finish within " + timeout.toSeconds() + " s", null, "timeout");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new ApiException(503, "server_error", "prefill failed: " + e.getCause().getMessage(), null, "unavailable");
        }
        StrideServer.json(ctx, 200, Map.of("prompt_tokens", prompt.length, "published_blocks", tier.publishedBlocks()));
    }

    private record Sink(CompletableFuture<Void> done) implements TokenSink {
        @Override
        public void onToken(TokenEvent e) {}

        @Override
        public void onFinish(Finished f) {
            done.complete(null);
        }

        @Override
        public void onError(RuntimeException error) {
            done.completeExceptionally(error);
        }
    }
}
