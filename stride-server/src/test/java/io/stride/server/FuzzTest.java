package io.stride.server;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Malformed and hostile bodies on every route: never a 5xx, nothing left running, the server stays healthy. */
class FuzzTest {
    static List<byte[]> hostileBodies() {
        List<byte[]> out = new ArrayList<>();
        out.add(new byte[0]);
        out.add("null".getBytes());
        out.add("{\"prompt\":".getBytes());
        out.add("[".repeat(100_000).getBytes());
        out.add(("{\"a\":".repeat(5000) + "1" + "}".repeat(5000)).getBytes());
        out.add("{\"prompt\":\"x\",\"max_tokens\":1e999999}".getBytes());
        out.add("{\"prompt\":\"x\",\"max_tokens\":99999999999999999999999999999999}".getBytes());
        out.add("{\"prompt\":\"x\",\"temperature\":NaN}".getBytes());
        out.add("{\"prompt\":\"x\",\"seed\":-1e308}".getBytes());
        out.add("{\"prompt\":\"x\",\"n\":-1}".getBytes());
        out.add("{\"prompt\":{\"nested\":[1,2,{}]},\"stop\":[null]}".getBytes());
        out.add("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}".getBytes());
        out.add("{\"messages\":[{\"role\":\"user\",\"content\":12}]}".getBytes());
        out.add("{\"prompt\":\"x\",\"prompt\":\"y\"}".getBytes());
        out.add("{\"prompt\":\"x\",\"logit_bias\":{\"abc\":1}}".getBytes());
        out.add("{\"prompt\":\"x\",\"stream_options\":7,\"stream\":true}".getBytes());
        out.add(("{\"prompt\":\"" + "a".repeat(10 * 1024 * 1024) + "\"}").getBytes());
        byte[] badUtf8 = "{\"prompt\":\"xx\"}".getBytes(StandardCharsets.UTF_8);
        badUtf8[11] = (byte) 0xC3;
        badUtf8[12] = (byte) 0x28;
        out.add(badUtf8);
        byte[] lone = "{\"prompt\":\"\\ud800 x\",\"max_tokens\":2}".getBytes(StandardCharsets.UTF_8);
        out.add(lone);
        SplittableRandom r = new SplittableRandom(99);
        byte[] valid = "{\"prompt\":\"public class X {\",\"max_tokens\":3,\"temperature\":0.5,\"stop\":[\"}\"],\"n\":2}".getBytes();
        for (int i = 0; i < 40; i++) {
            byte[] b = valid.clone();
            for (int k = 0; k < 1 + r.nextInt(4); k++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            out.add(b);
        }
        return out;
    }

    @Test
    void hostileBodiesNeverCause5xx() throws Exception {
        try (TestServer s = TestServer.builder().start()) {
            List<String> routes = List.of("/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics", "/v1/embeddings");
            int sent = 0;
            for (byte[] body : hostileBodies()) {
                for (String route : routes) {
                    // a body over the server's limit is offered with Expect: 100-continue, as a careful client does: the
                    // server then answers 413 before the body is sent, instead of closing a connection still being
                    // written (which a client sees as a broken pipe, not as the 413)
                    HttpResponse<String> resp = s.http.send(HttpRequest.newBuilder(URI.create(s.url() + route))
                            .header("Content-Type", "application/json").expectContinue(body.length > (4 << 20))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(resp.statusCode()).as("%s with %s", route, new String(body, 0, Math.min(80, body.length), StandardCharsets.UTF_8))
                            .isLessThan(500);
                    sent++;
                }
            }
            assertThat(sent).isGreaterThan(300);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while ((s.engine.runningCount() != 0 || s.engine.waitingCount() != 0) && System.nanoTime() < deadline) Thread.sleep(20);
            assertThat(s.engine.runningCount()).isZero();
            assertThat(s.engine.waitingCount()).isZero();
            assertThat(s.engine.usedBlocks()).isZero();
            assertThat(s.get("/health").statusCode()).isEqualTo(200);
            assertThat(s.complete("public class Healthy {", 3)).isNotNull();
        }
    }
}
