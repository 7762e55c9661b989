package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile framing and oversized input: every answer is the API's JSON error with the right status, limits hold
 * while reading (not after), nothing stalls the probes, and no message names a library class.
 */
class ProtocolErrorsTest {
    static TestServer s;

    @BeforeAll
    static void start() {
        s = TestServer.builder().apiKey("sekrit").bodyTimeout(Duration.ofSeconds(1)).start();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static String auth() {
        return "Authorization: Bearer sekrit";
    }

    static JsonNode jsonError(String response, int status) throws IOException {
        assertThat(RawHttp.status(response)).as(response).isEqualTo(status);
        assertThat(response).containsIgnoringCase("Content-Type: application/json");
        JsonNode e = TestServer.JSON.readTree(RawHttp.body(response)).get("error");
        assertThat(e).as(response).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        return e;
    }

    @Test
    void chunkedBodyOverTheLimitIs413WhileStillArriving() throws Exception {
        double before = s.metric("stride_request_errors_total");
        AtomicLong sent = new AtomicLong();
        try (RawHttp c = new RawHttp(s.port)) {
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            Future<String> answer = ex.submit(() -> c.readAll(30_000));
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth() + "\r\nTransfer-Encoding: chunked\r\n\r\n");
            byte[] chunk = ("10000\r\n" + "a".repeat(0x10000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            OutputStream out = c.socket.getOutputStream();
            try {
                for (int i = 0; i < 1024 && !answer.isDone(); i++) { // up to 64 MiB
                    out.write(chunk);
                    sent.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // the server closed the connection after answering
            }
            String r = answer.get();
            if (!r.isEmpty()) {
                assertThat(jsonError(r, 413).get("message").asText()).contains("too large");
            }
            ex.close();
        }
        assertThat(sent.get()).as("bytes the client could send").isLessThan(24L << 20);
        assertThat(s.getAuthorized("/metrics").body()).contains("status=\"413\"");
        assertThat(s.metric("stride_request_errors_total")).isGreaterThan(before);
    }

    @Test
    void malformedChunkIs400() throws Exception {
        try (RawHttp c = new RawHttp(s.port)) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth() + "\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n");
            jsonError(c.readAll(5000), 400);
        }
    }

    @Test
    void idleBodyIs408() throws Exception {
        try (RawHttp c = new RawHttp(s.port)) {
            long t0 = System.nanoTime();
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth() + "\r\nContent-Length: 100\r\n\r\n{\"prompt\":");
            String r = c.readAll(10_000);
            jsonError(r, 408);
            assertThat((System.nanoTime() - t0) / 1e9).isLessThan(5);
        }
    }

    @Test
    void dripFedBodyIs408() throws Exception {
        try (RawHttp c = new RawHttp(s.port)) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + auth() + "\r\nContent-Length: 100\r\n\r\n{");
            String body = "\"prompt\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"";
            try {
                for (int i = 0; i < body.length(); i++) {
                    Thread.sleep(200); // under the idle timeout each time, over the body deadline in all
                    c.send(body.substring(i, i + 1));
                }
            } catch (IOException e) {
                // closed after the 408
            }
            jsonError(c.readAll(5000), 408);
        }
    }

    @Test
    void jettyLevelErrorsAreJson() throws Exception {
        try (RawHttp c = new RawHttp(s.port)) {
            c.send("GET /v1/models?" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
            String r = c.readAll(5000);
            assertThat(RawHttp.status(r)).isIn(414, 431, 400);
            jsonError(r, RawHttp.status(r));
        }
        try (RawHttp c = new RawHttp(s.port)) {
            c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n");
            jsonError(c.readAll(5000), 431);
        }
        try (RawHttp c = new RawHttp(s.port)) {
            c.send("THIS IS NOT HTTP\r\n\r\n");
            jsonError(c.readAll(5000), 400);
        }
        try (RawHttp c = new RawHttp(s.port)) {
            c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
            jsonError(c.readAll(5000), 400);
        }
    }

    @Test
    void connectWithConnectionCloseIsAnsweredAndClosed() throws Exception {
        try (RawHttp c = new RawHttp(s.port)) {
            long t0 = System.nanoTime();
            c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n");
            assertThat(c.closedWithin(5000)).isTrue();
            assertThat((System.nanoTime() - t0) / 1e9).isLessThan(5);
        }
    }

    @Test
    void jsonErrorsNameNoLibraryInternals() throws Exception {
        List<String> bodies = List.of("{\"prompt\":\"x\"} {}", "{\"prompt\":\"x\",\"temperature\":NaN}", "[".repeat(1000),
                "{\"a\":" + "1".repeat(100) + "}", "{\"prompt\":\"x\",\"prompt\":\"y\"}", "{'prompt':'x'}", "{\"prompt\":\"x\"");
        for (String b : bodies) {
            HttpResponse<String> r = post("/v1/completions", b);
            assertThat(r.statusCode()).as(b).isEqualTo(400);
            String m = TestServer.JSON.readTree(r.body()).at("/error/message").asText();
            assertThat(m).as(b).startsWith("invalid JSON body").doesNotContainIgnoringCase("jackson").doesNotContain("`")
                    .doesNotContain("StreamReadConstraints").doesNotContain("JsonNode").doesNotContain("Feature");
        }
    }

    @Test
    void probesAnswerWithOrWithoutTrailingSlashAndWithoutKey() throws Exception {
        for (String p : List.of("/health", "/health/", "/ready", "/ready/")) {
            HttpResponse<String> r = s.http.send(HttpRequest.newBuilder(URI.create(s.url() + p)).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(p + " " + r.body()).isEqualTo(200);
        }
        for (String p : List.of("/metrics", "/metrics/", "/v1/models/", "/healthz", "/health/x")) {
            HttpResponse<String> r = s.http.send(HttpRequest.newBuilder(URI.create(s.url() + p)).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(p).isEqualTo(401);
        }
    }

    @Test
    void hugePromptsAreRefusedFastAndProbesStayResponsive() throws Exception {
        String huge = "{\"prompt\":\"" + "public int x; ".repeat((4 << 20) / 15) + "\",\"max_tokens\":4}";
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<HttpResponse<String>>> inFlight = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            inFlight.add(ex.submit(() -> post("/v1/completions", huge)));
        }
        double worst = 0;
        while (!inFlight.stream().allMatch(Future::isDone)) {
            long t0 = System.nanoTime();
            assertThat(s.get("/health").statusCode()).isEqualTo(200);
            worst = Math.max(worst, (System.nanoTime() - t0) / 1e9);
        }
        for (Future<HttpResponse<String>> f : inFlight) {
            HttpResponse<String> r = f.get();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(r.body()).contains("too long");
        }
        assertThat(worst).as("slowest /health while huge prompts were in flight (s)").isLessThan(1.0);
        ex.close();
        String chat = TestServer.JSON.writeValueAsString(Map.of("messages", List.of(Map.of("role", "user", "content", "x ".repeat((4 << 20) / 2 - 4096)))));
        long t0 = System.nanoTime();
        HttpResponse<String> r = post("/v1/chat/completions", chat);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(5);
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return s.http.send(HttpRequest.newBuilder(URI.create(s.url() + path)).header("Authorization", "Bearer sekrit")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
