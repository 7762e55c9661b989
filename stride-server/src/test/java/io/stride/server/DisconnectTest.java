package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A client that goes away takes its work with it: its sequences leave the engine at the next step. */
class DisconnectTest {
    static void awaitRunning(TestServer s, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (s.engine.runningCount() < n && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(s.engine.runningCount()).isEqualTo(n);
    }

    static double secondsUntilIdle(TestServer s) throws InterruptedException {
        long t0 = System.nanoTime();
        while ((s.engine.runningCount() != 0 || s.engine.usedBlocks() != 0) && System.nanoTime() - t0 < 20_000_000_000L) Thread.sleep(2);
        return (System.nanoTime() - t0) / 1e9;
    }

    @Test
    void abandonedNonStreamingRequestIsCancelled() throws Exception {
        try (TestServer s = TestServer.builder().start()) {
            String body = TestServer.JSON.writeValueAsString(Map.of("prompt", "public class A {", "max_tokens", 1500, "n", 3,
                    "temperature", 0.8, "seed", 7, "logit_bias", s.noEndBias()));
            double cancelledBefore = cancelled(s);
            try (RawHttp c = new RawHttp(s.port)) {
                c.send(RawHttp.post("/v1/completions", body));
                awaitRunning(s, 3);
                Thread.sleep(200);
            }
            double seconds = secondsUntilIdle(s);
            assertThat(seconds).as("seconds from the client's close until its sequences left the engine").isLessThan(2.0);
            assertThat(s.engine.usedBlocks()).isZero();
            assertThat(cancelled(s) - cancelledBefore).isEqualTo(3);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (s.server.inFlight().size() != 0 && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(s.server.inFlight().size()).isZero();
            // the connection's next user is unaffected
            assertThat(s.complete("public class B {", 4)).isNotNull();
        }
    }

    @Test
    void abandonedStreamWaitingForItsFirstTokenIsCancelled() throws Exception {
        try (TestServer s = TestServer.builder().maxSeqs(1).start()) {
            String hog = TestServer.JSON.writeValueAsString(Map.of("prompt", "class H {", "max_tokens", 300, "temperature", 0.8,
                    "seed", 1, "logit_bias", s.noEndBias()));
            String queued = TestServer.JSON.writeValueAsString(Map.of("prompt", "class Q {", "max_tokens", 300, "stream", true));
            try (RawHttp first = new RawHttp(s.port)) {
                first.send(RawHttp.post("/v1/completions", hog));
                awaitRunning(s, 1);
                try (RawHttp second = new RawHttp(s.port)) {
                    second.send(RawHttp.post("/v1/completions", queued));
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (s.engine.waitingCount() != 1 && System.nanoTime() < deadline) Thread.sleep(2);
                    assertThat(s.engine.waitingCount()).isEqualTo(1);
                }
                long t0 = System.nanoTime();
                while (s.engine.waitingCount() != 0 && System.nanoTime() - t0 < 10_000_000_000L) Thread.sleep(2);
                assertThat(s.engine.waitingCount()).isZero();
                assertThat((System.nanoTime() - t0) / 1e9).isLessThan(2.0);
                assertThat(s.engine.runningCount()).isEqualTo(1); // the other client's request runs on
            }
            assertThat(secondsUntilIdle(s)).isLessThan(2.0);
        }
    }

    static double cancelled(TestServer s) throws Exception {
        String m = s.get("/metrics").body();
        double sum = 0;
        for (String line : m.split("\n")) {
            if (line.startsWith("stride_requests_finished_total{") && line.contains("finish_reason=\"cancelled\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
