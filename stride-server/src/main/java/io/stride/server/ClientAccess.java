package io.stride.server;

import io.javalin.http.Context;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who a request comes from and what it may hold: API-key authentication (compared in constant time, so the
 * time of a failed attempt says nothing about the key) and the optional per-client limit on generation
 * requests in flight (per API key, or per remote address when the server has no keys).
 */
final class ClientAccess {
    private final List<byte[]> keys;
    private final int maxConcurrent;
    private final ConcurrentHashMap<String, Integer> inFlight = new ConcurrentHashMap<>();

    ClientAccess(List<String> apiKeys, int maxConcurrent) {
        this.keys = apiKeys.stream().map(k -> ("Bearer " + k).getBytes(StandardCharsets.UTF_8)).toList();
        this.maxConcurrent = maxConcurrent;
    }

    boolean keysRequired() {
        return !keys.isEmpty();
    }

    /** Throws a 401 unless the request carries one of the keys. */
    void authenticate(Context ctx) {
        if (keys.isEmpty()) {
            return;
        }
        byte[] given = credential(ctx).getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (byte[] k : keys) {
            ok |= MessageDigest.isEqual(k, given);
        }
        if (!ok) {
            throw new ApiException(401, "invalid_request_error", "missing or invalid API key (Authorization: Bearer KEY, or x-api-key: KEY)", null,
                    "invalid_api_key");
        }
    }

    /** The key a request presents, as "Bearer KEY": from Authorization, or from x-api-key (Anthropic's clients). */
    private static String credential(Context ctx) {
        String h = ctx.header("Authorization");
        if (h != null) {
            return h;
        }
        String x = ctx.header("x-api-key");
        return x == null ? "" : "Bearer " + x;
    }

    /** The client a request counts against: its key, or its address. */
    String client(Context ctx) {
        if (!keys.isEmpty()) {
            return "key:" + credential(ctx);
        }
        return "addr:" + ctx.req().getRemoteAddr();
    }

    /** Takes a slot for {@code client}; throws a 429 when it holds the limit already. Release with {@link #release}. */
    void acquire(String client) {
        if (maxConcurrent == 0) {
            return;
        }
        boolean[] taken = {false};
        inFlight.compute(client, (c, n) -> {
            int held = n == null ? 0 : n;
            taken[0] = held < maxConcurrent;
            return taken[0] ? held + 1 : n;
        });
        if (!taken[0]) {
            throw new ApiException(429, "rate_limit_error", "too many concurrent requests from this client (limit " + maxConcurrent
                    + "); try again when one finishes", null, "concurrency_limit");
        }
    }

    void release(String client) {
        if (maxConcurrent == 0) {
            return;
        }
        inFlight.computeIfPresent(client, (c, n) -> n <= 1 ? null : n - 1);
    }

    /** Slots held by all clients together (0 when idle). */
    int held() {
        return inFlight.values().stream().mapToInt(Integer::intValue).sum();
    }
}
