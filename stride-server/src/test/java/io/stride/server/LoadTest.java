package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 300 requests at concurrency 32, streaming and not, 10% abandoned mid-stream by the client: every other
 * request completes with a valid response, KV blocks all come back, and /health keeps answering.
 */
class LoadTest {
    @Test
    void nothingLostUnderLoad() throws Exception {
        List<String> prompts = Workload.prompts(null);
        try (TestServer s = TestServer.builder().maxBatchTokens(128).start()) {
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger cancelled = new AtomicInteger();
            AtomicInteger healthChecks = new AtomicInteger();
            AtomicInteger next = new AtomicInteger();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> workers = new java.util.ArrayList<>();
                for (int w = 0; w < 32; w++) {
                    workers.add(ex.submit(() -> {
                        int i;
                        while ((i = next.getAndIncrement()) < 300) {
                            String p = prompts.get(i % prompts.size());
                            p = p.substring(Math.max(0, p.length() - 60 - (i * 37) % 300));
                            int max = 4 + i % 13;
                            boolean stream = i % 2 == 0;
                            boolean abandon = i % 10 == 3;
                            if (abandon) {
                                abandonMidStream(s, p);
                                cancelled.incrementAndGet();
                            } else if (stream) {
                                TestServer.Streamed r = s.stream(Map.of("prompt", p, "max_tokens", max, "temperature", 0.7, "seed", i,
                                        "stream", true, "stream_options", Map.of("include_usage", true)));
                                assertThat(r.usage()).isNotNull();
                                assertThat(r.usage().get("completion_tokens").asInt()).isBetween(1, max);
                                ok.incrementAndGet();
                            } else {
                                HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", p, "max_tokens", max, "temperature", 0.7, "seed", i));
                                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                                JsonNode n = TestServer.JSON.readTree(r.body());
                                assertThat(n.get("choices").get(0).get("finish_reason").asText()).isIn("stop", "length");
                                ok.incrementAndGet();
                            }
                            if (i % 25 == 0) {
                                assertThat(s.get("/health").statusCode()).isEqualTo(200);
                                healthChecks.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : workers) f.get();
            }
            assertThat(ok.get() + cancelled.get()).isEqualTo(300);
            assertThat(cancelled.get()).isEqualTo(30);
            // abandoned sequences are dropped at the next step; give the engine a moment, then every block is back
            long deadline = System.nanoTime() + 10_000_000_000L;
            while ((s.engine.usedBlocks() != 0 || s.engine.runningCount() != 0) && System.nanoTime() < deadline) Thread.sleep(20);
            assertThat(s.engine.runningCount()).isZero();
            assertThat(s.engine.waitingCount()).isZero();
            assertThat(s.engine.usedBlocks()).isZero();
            assertThat(s.engine.freeBlocks()).isEqualTo(s.engine.totalBlocks());
            assertThat(s.get("/health").statusCode()).isEqualTo(200);
            assertThat(s.metric("stride_requests_finished_total")).isGreaterThanOrEqualTo(300);
        }
    }

    /** Starts a long streaming request, reads two events, then closes the connection. */
    private static void abandonMidStream(TestServer s, String prompt) throws Exception {
        var req = HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.JSON.writeValueAsBytes(
                        Map.of("prompt", prompt, "max_tokens", 400, "temperature", 0, "stream", true)))).build();
        HttpResponse<InputStream> r = s.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        try (InputStream in = r.body()) {
            int events = 0;
            StringBuilder sb = new StringBuilder();
            int c;
            while (events < 2 && (c = in.read()) >= 0) {
                sb.append((char) c);
                if (sb.toString().endsWith("\n\n")) {
                    events++;
                    sb.setLength(0);
                }
            }
        }
    }
}
