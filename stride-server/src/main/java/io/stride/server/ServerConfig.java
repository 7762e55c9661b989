package io.stride.server;

import io.stride.core.engine.Pooling;

import java.time.Duration;
import java.util.List;

/**
 * Server-level settings.
 *
 * @param alias               the model name clients use (and /v1/models lists)
 * @param apiKeys             when not empty, every route but the probes needs {@code Authorization: Bearer <one of them>}
 * @param maxTokensCap        largest max_tokens honoured (larger requests are clamped)
 * @param defaultMaxTokens    max_tokens when a request gives none
 * @param maxChoices          largest n
 * @param maxBodyBytes        largest request body, whatever its framing
 * @param bodyTimeout         a request body must arrive within this time, with no pause as long (408 otherwise);
 *                            also the idle timeout of keep-alive connections
 * @param maxConcurrentPerKey generation requests one API key (or, without keys, one client address) may have in
 *                            flight; 0: no limit
 * @param tokenizerThreads    threads that tokenize prompts, off the request threads
 * @param pooling             how /v1/embeddings pools a text's hidden states
 * @param corsOrigins         origins browsers may call from ("*": any); empty: no CORS headers
 */
public record ServerConfig(String host, int port, String alias, List<String> apiKeys, int maxTokensCap, int defaultMaxTokens,
                           int maxChoices, long maxBodyBytes, Duration bodyTimeout, int maxConcurrentPerKey, int tokenizerThreads,
                           Pooling pooling, List<String> corsOrigins) {
    public ServerConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be 0..65535, got " + port);
        if (maxTokensCap < 1) throw new IllegalArgumentException("max tokens cap must be >= 1");
        if (defaultMaxTokens < 1) throw new IllegalArgumentException("default max tokens must be >= 1");
        if (alias == null || alias.isBlank()) throw new IllegalArgumentException("model alias must not be empty");
        apiKeys = List.copyOf(apiKeys);
        for (String k : apiKeys) {
            if (k.isBlank()) throw new IllegalArgumentException("an API key must not be empty");
        }
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("the body limit must be at least 1024 bytes");
        if (bodyTimeout.toMillis() < 100) throw new IllegalArgumentException("the body timeout must be at least 100 ms");
        if (maxConcurrentPerKey < 0) throw new IllegalArgumentException("the per-key concurrency limit must be >= 0");
        if (tokenizerThreads < 1) throw new IllegalArgumentException("tokenizer threads must be >= 1");
        corsOrigins = List.copyOf(corsOrigins);
    }

    /** Defaults for everything but the address, model name and limits on tokens. */
    public static ServerConfig of(String host, int port, String alias, int maxTokensCap, int defaultMaxTokens) {
        return new ServerConfig(host, port, alias, List.of(), maxTokensCap, defaultMaxTokens, 8, 4L << 20, Duration.ofSeconds(30), 0,
                Math.max(1, Runtime.getRuntime().availableProcessors() / 2), Pooling.MEAN, List.of("*"));
    }

    public ServerConfig withApiKeys(List<String> keys) {
        return new ServerConfig(host, port, alias, keys, maxTokensCap, defaultMaxTokens, maxChoices, maxBodyBytes, bodyTimeout,
                maxConcurrentPerKey, tokenizerThreads, pooling, corsOrigins);
    }

    public ServerConfig withBodyLimits(long maxBytes, Duration timeout) {
        return new ServerConfig(host, port, alias, apiKeys, maxTokensCap, defaultMaxTokens, maxChoices, maxBytes, timeout,
                maxConcurrentPerKey, tokenizerThreads, pooling, corsOrigins);
    }

    public ServerConfig withPooling(Pooling p) {
        return new ServerConfig(host, port, alias, apiKeys, maxTokensCap, defaultMaxTokens, maxChoices, maxBodyBytes, bodyTimeout,
                maxConcurrentPerKey, tokenizerThreads, p, corsOrigins);
    }

    public ServerConfig withCorsOrigins(List<String> origins) {
        return new ServerConfig(host, port, alias, apiKeys, maxTokensCap, defaultMaxTokens, maxChoices, maxBodyBytes, bodyTimeout,
                maxConcurrentPerKey, tokenizerThreads, pooling, origins);
    }

    public ServerConfig withMaxConcurrentPerKey(int n) {
        return new ServerConfig(host, port, alias, apiKeys, maxTokensCap, defaultMaxTokens, maxChoices, maxBodyBytes, bodyTimeout,
                n, tokenizerThreads, pooling, corsOrigins);
    }
}
