package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Invalid requests get OpenAI-style JSON errors with the right status; the server stays healthy. */
class ErrorHandlingTest {
    static TestServer s;

    @BeforeAll
    static void start() {
        s = TestServer.builder().start();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static JsonNode assertError(HttpResponse<String> r, int status, String mention) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = TestServer.JSON.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).containsIgnoringCase(mention);
        assertThat(e.get("type").isTextual()).isTrue();
        assertThat(r.body()).doesNotContain("\tat ").doesNotContain("Exception:");
        return e;
    }

    @Test
    void badRequests() throws Exception {
        assertError(s.post("/v1/completions", "{not json"), 400, "invalid JSON");
        assertError(s.post("/v1/completions", "[1,2]"), 400, "object");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "max_tokens", -3)), 400, "max_tokens");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "max_tokens", "ten")), 400, "max_tokens");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "temperature", 7)), 400, "temperature");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "top_p", 0)), 400, "top_p");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "n", 1000)), 400, "n must be");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "stop", 5)), 400, "stop");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "logit_bias", Map.of("999999", 1))), 400, "logit_bias");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "stream", "yes")), 400, "stream");
        assertError(s.post("/v1/completions", Map.of("max_tokens", 3)), 400, "prompt");
        assertError(s.post("/v1/completions", Map.of("prompt", List.of(1, 2, 99999999))), 400, "token");
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of())), 400, "messages");
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "wizard", "content", "hi")))), 400, "role");
        assertError(s.post("/v1/chat/completions", Map.of("messages", "hello")), 400, "messages");
        JsonNode e = assertError(s.post("/v1/completions", Map.of("model", "gpt-17", "prompt", "x")), 404, "does not exist");
        assertThat(e.get("code").asText()).isEqualTo("model_not_found");
        assertError(s.post("/v1/completions", Map.of("prompt", "x ".repeat(1000), "max_tokens", 1500)), 400, "context length");
        assertError(s.post("/v1/completions", Map.of("prompt", "x ".repeat(2100), "max_tokens", 1)), 400, "context");
        assertError(s.get("/v1/nothing"), 404, "no route");
        assertThat(s.get("/health").statusCode()).isEqualTo(200);
        assertThat(s.metric("stride_request_errors_total")).isGreaterThanOrEqualTo(19);
    }

    @Test
    void fieldsThatWouldChangeTheOutputButAreNotImplementedAreNamed() throws Exception {
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", "hi")),
                "response_format", Map.of("type", "json"))), 400, "response_format");
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", "hi")),
                "tools", List.of(Map.of("type", "code_interpreter")))), 400, "tools[0].type");
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", "hi")),
                "functions", List.of(Map.of("name", "f")))), 400, "functions");
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", "hi")),
                "tool_choice", "required")), 400, "tool_choice");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "grammar", "root ::= \"a")), 400, "grammar");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "suffix", "}")), 400, "suffix");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "best_of", 3)), 400, "best_of");
        // fields with no effect on the output pass
        HttpResponse<String> ok = s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", "hi")),
                "max_tokens", 2, "user", "u-1", "response_format", Map.of("type", "text"), "tools", List.of(), "metadata", Map.of("a", "b")));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void maxTokensIsCappedAndDefaulted() throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", "public class A {"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(TestServer.JSON.readTree(r.body()).get("usage").get("completion_tokens").asInt()).isBetween(1, 64);
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        JsonNode m = TestServer.JSON.readTree(s.get("/v1/models").body());
        assertThat(m.get("data").get(0).get("id").asText()).isEqualTo("javatiny");
        assertThat(s.get("/health").statusCode()).isEqualTo(200);
        String metrics = s.get("/metrics").body();
        for (String name : List.of("stride_time_to_first_token_seconds_bucket", "stride_inter_token_latency_seconds_bucket",
                "stride_e2e_request_latency_seconds_bucket", "stride_request_queue_time_seconds_bucket", "stride_requests_running",
                "stride_requests_waiting", "stride_kv_blocks_used", "stride_kv_blocks_free", "stride_prompt_tokens_total",
                "stride_generation_tokens_total", "stride_prefix_cache_hits_total", "stride_preemptions_total")) {
            assertThat(metrics).contains(name);
        }
    }

    @Test
    void requestThatCanNeverFitTheKvCacheIs400() throws Exception {
        try (TestServer small = TestServer.builder().kvBlocks(8).start()) {
            assertError(small.post("/v1/completions", Map.of("prompt", "int x = 1; ".repeat(30), "max_tokens", 64)), 400, "KV blocks");
            HttpResponse<String> ok = small.post("/v1/completions", Map.of("prompt", "int x = 1;", "max_tokens", 8));
            assertThat(ok.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void queueFullIs429() throws Exception {
        try (TestServer full = TestServer.builder().maxQueue(0).start()) {
            assertError(full.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 2)), 429, "waiting");
        }
    }

    @Test
    void apiKeyIsRequiredExceptForHealth() throws Exception {
        try (TestServer secured = TestServer.builder().apiKey("sekrit").start()) {
            assertError(secured.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 1)), 401, "API key");
            assertError(secured.get("/v1/models"), 401, "API key");
            assertError(secured.get("/metrics"), 401, "API key");
            assertThat(secured.get("/health").statusCode()).isEqualTo(200);
            HttpResponse<String> ok = secured.http.send(HttpRequest.newBuilder(URI.create(secured.url() + "/v1/models"))
                    .header("Authorization", "Bearer sekrit").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).isEqualTo(200);
            HttpResponse<String> wrong = secured.http.send(HttpRequest.newBuilder(URI.create(secured.url() + "/v1/models"))
                    .header("Authorization", "Bearer nope").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(wrong.statusCode()).isEqualTo(401);
        }
    }
}
