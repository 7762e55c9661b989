package io.stride.server.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stride.core.kv.tier.KvHandoff;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The decode side of prefill/decode disaggregation over HTTP: {@code POST PREFILL_URL/internal/prefill} with the
 * prompt's token ids and tenant salt; the prefill server answers once the prompt's full blocks are in the shared
 * store. Any failure (refused, timeout, non-200) is thrown to the engine, which then computes the prompt itself.
 */
public final class HttpPrefillHandoff implements KvHandoff {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI endpoint;
    private final Duration timeout;
    private final String apiKey;
    private final HttpClient http;

    public HttpPrefillHandoff(String baseUrl, Duration timeout, String apiKey) {
        URI u;
        try {
            u = URI.create(baseUrl.endsWith("/") ? baseUrl + "internal/prefill" : baseUrl + "/internal/prefill");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--prefill-url: not a URL: " + baseUrl);
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("--prefill-url expects http://HOST:PORT, got " + baseUrl);
        }
        this.endpoint = u;
        this.timeout = timeout;
        this.apiKey = apiKey;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    @Override
    public void prefill(int[] prompt, long salt) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        var ids = body.putArray("prompt_token_ids");
        for (int t : prompt) {
            ids.add(t);
        }
        body.put("salt", salt);
        HttpRequest.Builder req = HttpRequest.newBuilder(endpoint).timeout(timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        if (apiKey != null) {
            req.header("Authorization", "Bearer " + apiKey);
        }
        HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("prefill server answered " + r.statusCode() + ": " + r.body());
        }
    }

    @Override
    public String describe() {
        return endpoint.toString();
    }
}
