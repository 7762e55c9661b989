package io.stride.server;

/**
 * Server-level settings.
 *
 * @param alias            the model name clients use (and /v1/models lists)
 * @param apiKey           when set, every route but /health needs {@code Authorization: Bearer <key>}
 * @param maxTokensCap     largest max_tokens honoured (larger requests are clamped)
 * @param defaultMaxTokens max_tokens when a request gives none
 * @param maxChoices       largest n
 * @param maxBodyBytes     largest request body
 */
public record ServerConfig(String host, int port, String alias, String apiKey, int maxTokensCap, int defaultMaxTokens,
                           int maxChoices, long maxBodyBytes) {
    public ServerConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be 0..65535, got " + port);
        if (maxTokensCap < 1) throw new IllegalArgumentException("max tokens cap must be >= 1");
        if (defaultMaxTokens < 1) throw new IllegalArgumentException("default max tokens must be >= 1");
        if (alias == null || alias.isBlank()) throw new IllegalArgumentException("model alias must not be empty");
    }
}
