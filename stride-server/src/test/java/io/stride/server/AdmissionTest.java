package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Admission is one transaction: a request refused at any check leaves nothing behind (queue slot, KV blocks,
 * in-flight entry, per-client slot), and per-client limits hold.
 */
class AdmissionTest {
    /** Every way a request can fail validation, from the body's framing to the engine's own checks. */
    static List<String> invalidBodies() {
        List<String> out = new ArrayList<>();
        out.add("{\"prompt\":\"hi\",\"max_tokens\":2,\"speculation\":\"x\"}");
        out.add("{\"prompt\":\"hi\",\"max_tokens\":2,\"n\":3,\"speculation\":\"x\"}");
        out.add("{\"prompt\":\"hi\",\"max_tokens\":2,\"stream\":true,\"speculation\":\"x\"}");
        out.add("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"speculation\":\"nope\"}");
        out.add("{\"prompt\":[1,2,99999]}");
        out.add("{\"prompt\":\"hi\",\"max_tokens\":5000}");
        out.add("{\"prompt\":\"" + "int x = 1; ".repeat(120) + "\",\"max_tokens\":600}");
        out.add("{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}");
        out.add("{\"prompt\":\"x\",\"model\":\"nope\"}");
        out.add("{\"prompt\":\"x\",\"logit_bias\":{\"999999\":1}}");
        out.add("{\"prompt\":\"x\",\"temperature\":9}");
        out.add("{\"prompt\":\"x\",\"max_tokens\":0}");
        out.add("{bad json");
        out.add("{\"prompt\":\"" + "word ".repeat(40_000) + "\"}");
        out.add("{\"messages\":[{\"role\":\"user\",\"content\":\"" + "word ".repeat(40_000) + "\"}]}");
        return out;
    }

    static void assertIdle(TestServer s) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((s.engine.runningCount() != 0 || s.engine.waitingCount() != 0 || s.engine.usedBlocks() != 0
                || s.server.inFlight().size() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(s.engine.waitingCount()).as("waiting").isZero();
        assertThat(s.engine.runningCount()).as("running").isZero();
        assertThat(s.engine.usedBlocks()).as("KV blocks used").isZero();
        assertThat(s.server.inFlight().size()).as("in flight").isZero();
        assertThat(s.server.access().held()).as("per-client slots").isZero();
        assertThat(s.metric("stride_requests_waiting")).isZero();
        assertThat(s.metric("stride_requests_running")).isZero();
        assertThat(s.metric("stride_kv_blocks_used")).isZero();
        assertThat(s.metric("stride_http_requests_in_flight")).isZero();
        assertThat(s.metric("stride_ready")).isEqualTo(1);
    }

    @Test
    void thousandRefusedRequestsLeaveNothingBehind() throws Exception {
        try (TestServer s = TestServer.builder().maxQueue(8).kvBlocks(64).maxConcurrentPerKey(4).start()) {
            List<String> bodies = invalidBodies();
            Map<Integer, Integer> statuses = new HashMap<>();
            for (int i = 0; i < 1000; i++) {
                HttpResponse<String> r = s.post(i % 2 == 0 ? "/v1/completions" : "/v1/chat/completions", bodies.get(i % bodies.size()));
                assertThat(r.statusCode()).as("%s -> %s", bodies.get(i % bodies.size()).substring(0, Math.min(40, bodies.get(i % bodies.size()).length())), r.body()).isBetween(400, 499);
                assertThat(r.statusCode()).as(r.body()).isNotEqualTo(429);
                statuses.merge(r.statusCode(), 1, Integer::sum);
            }
            assertThat(statuses.keySet()).contains(400, 404);
            assertIdle(s);
            assertThat(s.complete("public class Fine {", 4)).isNotNull();
            assertIdle(s);
        }
    }

    @Test
    void perClientConcurrencyLimit() throws Exception {
        try (TestServer s = TestServer.builder().apiKey("k1").extraApiKey("k2").maxConcurrentPerKey(1).start()) {
            String longBody = "{\"prompt\":\"public class A {\",\"max_tokens\":400,\"temperature\":0.9,\"seed\":1,\"logit_bias\":"
                    + TestServer.JSON.writeValueAsString(s.noEndBias()) + "}";
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            Future<HttpResponse<String>> first = ex.submit(() -> post(s, "k1", longBody));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (s.engine.runningCount() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
            HttpResponse<String> second = post(s, "k1", "{\"prompt\":\"x\",\"max_tokens\":2}");
            assertThat(second.statusCode()).as(second.body()).isEqualTo(429);
            assertThat(TestServer.JSON.readTree(second.body()).at("/error/code").asText()).isEqualTo("concurrency_limit");
            HttpResponse<String> other = post(s, "k2", "{\"prompt\":\"x\",\"max_tokens\":2}");
            assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
            assertThat(post(s, "wrong", "{\"prompt\":\"x\",\"max_tokens\":2}").statusCode()).isEqualTo(401);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(post(s, "k1", "{\"prompt\":\"x\",\"max_tokens\":2}").statusCode()).isEqualTo(200);
            ex.close();
            assertIdle(s);
        }
    }

    static HttpResponse<String> post(TestServer s, String key, String body) throws Exception {
        return s.http.send(HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions")).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void repetitionGuardEndsALoopingOutput() throws Exception {
        String prompt = "System.out.println(\"x\");\nSystem.out.println(\"x\");\n";
        Map<String, Object> req = Map.of("prompt", prompt, "max_tokens", 300, "temperature", 0);
        int plain;
        try (TestServer s = TestServer.builder().start()) {
            JsonNode r = TestServer.JSON.readTree(s.post("/v1/completions", req).body());
            plain = r.at("/usage/completion_tokens").asInt();
        }
        try (TestServer s = TestServer.builder().repetitionWindow(48).start()) {
            JsonNode r = TestServer.JSON.readTree(s.post("/v1/completions", req).body());
            assertThat(r.at("/choices/0/finish_reason").asText()).isEqualTo("length");
            assertThat(r.at("/usage/completion_tokens").asInt()).isLessThan(plain).isGreaterThanOrEqualTo(48);
            assertThat(s.get("/metrics").body()).contains("finish_reason=\"repetition\"");
            assertThat(s.complete("public class Fine {", 8)).isNotNull();
        }
    }
}
