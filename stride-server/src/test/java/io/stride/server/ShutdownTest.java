package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Graceful shutdown: new work is refused with 503 and readiness goes false at once; short requests finish;
 * requests still running at the drain timeout end with a final SSE error event and [DONE], or a 503 JSON.
 */
class ShutdownTest {
    @Test
    void drainFinishesShortRequestsAndEndsLongOnes() throws Exception {
        try (TestServer s = TestServer.builder().start()) {
            Map<String, Integer> noEnd = s.noEndBias();
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            Future<HttpResponse<List<String>>> longStream = ex.submit(() -> s.http.send(request(s, Map.of("prompt", "class S {",
                    "max_tokens", 1800, "stream", true, "temperature", 0.8, "seed", 3, "logit_bias", noEnd)), lines()));
            Future<HttpResponse<String>> longPlain = ex.submit(() -> s.post("/v1/completions", Map.of("prompt", "class P {",
                    "max_tokens", 1800, "temperature", 0.8, "seed", 4, "logit_bias", noEnd)));
            DisconnectTest.awaitRunning(s, 2);
            Future<HttpResponse<String>> shortOne = ex.submit(() -> s.post("/v1/completions", Map.of("prompt", "int x", "max_tokens", 24,
                    "temperature", 0, "logit_bias", noEnd)));
            DisconnectTest.awaitRunning(s, 3);
            CompletableFuture<InFlight.Report> drained = CompletableFuture.supplyAsync(() -> s.server.drain(Duration.ofSeconds(3)));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (s.server.ready() && System.nanoTime() < deadline) Thread.sleep(2);
            HttpResponse<String> ready = s.get("/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains("draining");
            assertThat(s.get("/health").statusCode()).isEqualTo(200);
            HttpResponse<String> refused = s.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 2));
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(TestServer.JSON.readTree(refused.body()).at("/error/code").asText()).isEqualTo("shutting_down");

            assertThat(shortOne.get().statusCode()).isEqualTo(200);
            assertThat(TestServer.JSON.readTree(shortOne.get().body()).at("/usage/completion_tokens").asInt()).isEqualTo(24);

            InFlight.Report report = drained.get();
            assertThat(report.finished()).isEqualTo(1);
            assertThat(report.ended()).isEqualTo(2);

            HttpResponse<String> plain = longPlain.get();
            assertThat(plain.statusCode()).isEqualTo(503);
            assertThat(TestServer.JSON.readTree(plain.body()).at("/error/code").asText()).isEqualTo("shutting_down");

            List<String> events = longStream.get().body().stream().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
            assertThat(events.size()).isGreaterThan(3);
            assertThat(events.getLast()).isEqualTo("[DONE]");
            JsonNode last = TestServer.JSON.readTree(events.get(events.size() - 2));
            assertThat(last.at("/error/code").asText()).isEqualTo("shutting_down");
            assertThat(last.at("/error/message").asText()).contains("shutting down");
            AdmissionTestAccess.idleEngine(s);
            ex.close();
        }
    }

    @Test
    void probesReportAStoppedEngine() throws Exception {
        try (TestServer s = TestServer.builder().start()) {
            assertThat(s.get("/health").statusCode()).isEqualTo(200);
            assertThat(s.get("/ready").statusCode()).isEqualTo(200);
            s.engine.close();
            HttpResponse<String> health = s.get("/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(health.body()).contains("engine stopped");
            assertThat(s.get("/ready").statusCode()).isEqualTo(503);
            HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 2));
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(s.metric("stride_ready")).isZero();
        }
    }

    static HttpRequest request(TestServer s, Map<String, Object> body) throws Exception {
        return HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.JSON.writeValueAsBytes(body))).build();
    }

    static HttpResponse.BodyHandler<List<String>> lines() {
        return info -> HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofLines(java.nio.charset.StandardCharsets.UTF_8),
                java.util.stream.Stream::toList);
    }

    /** Engine-side idleness (the HTTP side is draining, so readiness is expected to be false). */
    static final class AdmissionTestAccess {
        static void idleEngine(TestServer s) throws InterruptedException {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while ((s.engine.runningCount() != 0 || s.engine.usedBlocks() != 0 || s.server.inFlight().size() != 0)
                    && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(s.engine.runningCount()).isZero();
            assertThat(s.engine.waitingCount()).isZero();
            assertThat(s.engine.usedBlocks()).isZero();
            assertThat(s.server.inFlight().size()).isZero();
        }
    }
}
