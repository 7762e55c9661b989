package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 300 requests at concurrency 32 mixing hostile bodies, abandoned streams, abandoned non-streaming requests and
 * valid ones: afterwards every gauge is idle, memory has not grown, and every valid greedy answer equals what a
 * fresh server answers to the same request alone.
 */
class SoakTest {
    static final List<String> PROMPTS = List.of("public class Soak {", "import java.util.List;\n", "int sum(int[] a) {",
            "// parse the header\n", "private static final", "for (int i = 0; i < n; i++) {");

    record Valid(int prompt, boolean stream, String text) {}

    @Test
    void mixedHostileAndAbandonedTrafficLeavesNothingBehind() throws Exception {
        List<byte[]> hostile = FuzzTest.hostileBodies();
        List<Valid> valid = new ArrayList<>();
        ConcurrentHashMap<String, AtomicInteger> kinds = new ConcurrentHashMap<>();
        long heapBefore;
        long rssBefore;
        try (TestServer s = TestServer.builder().maxQueue(512).start()) {
            s.complete("warm up", 4);
            heapBefore = heapAfterGc();
            rssBefore = rssKb();
            SplittableRandom rnd = new SplittableRandom(2026);
            Semaphore concurrency = new Semaphore(32);
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            List<Future<Valid>> futures = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                int kind = rnd.nextInt(4);
                long seed = rnd.nextLong();
                concurrency.acquire();
                futures.add(ex.submit(() -> {
                    try {
                        SplittableRandom r = new SplittableRandom(seed);
                        String name = switch (kind) {
                            case 0 -> { hostileRequest(s, hostile.get(r.nextInt(hostile.size())), r); yield "hostile"; }
                            case 1 -> { abandon(s, r, true); yield "abandoned-stream"; }
                            case 2 -> { abandon(s, r, false); yield "abandoned"; }
                            default -> "valid";
                        };
                        kinds.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
                        return kind == 3 ? validRequest(s, r.nextInt(PROMPTS.size()), r.nextBoolean()) : null;
                    } finally {
                        concurrency.release();
                    }
                }));
            }
            for (Future<Valid> f : futures) {
                Valid v = f.get();
                if (v != null) valid.add(v);
            }
            ex.close();
            AdmissionTest.assertIdle(s);
            assertThat(s.engine.freeBlocks()).isEqualTo(s.engine.totalBlocks());
            long heapAfter = heapAfterGc();
            long rssAfter = rssKb();
            System.out.printf("soak: %s; heap after GC %d -> %d MiB, RSS %d -> %d MiB%n", kinds, heapBefore >> 20, heapAfter >> 20,
                    rssBefore >> 10, rssAfter >> 10);
            assertThat(heapAfter - heapBefore).as("heap growth after GC (bytes)").isLessThan(128L << 20);
            assertThat(rssAfter - rssBefore).as("RSS growth (KiB)").isLessThan(1L << 20);
        }
        assertThat(kinds.keySet()).containsExactlyInAnyOrder("hostile", "abandoned-stream", "abandoned", "valid");
        assertThat(valid).hasSizeGreaterThan(40);
        try (TestServer fresh = TestServer.builder().start()) {
            String[] expected = new String[PROMPTS.size()];
            for (int p = 0; p < PROMPTS.size(); p++) expected[p] = fresh.complete(PROMPTS.get(p), 12);
            for (Valid v : valid) {
                assertThat(v.text()).as("prompt %d (stream %s)", v.prompt(), v.stream()).isEqualTo(expected[v.prompt()]);
            }
        }
    }

    static void hostileRequest(TestServer s, byte[] body, SplittableRandom r) throws Exception {
        String route = r.nextBoolean() ? "/v1/completions" : "/v1/chat/completions";
        HttpResponse<String> resp = s.http.send(HttpRequest.newBuilder(URI.create(s.url() + route))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(resp.statusCode()).isLessThan(500);
    }

    static void abandon(TestServer s, SplittableRandom r, boolean stream) throws Exception {
        String body = TestServer.JSON.writeValueAsString(Map.of("prompt", PROMPTS.get(r.nextInt(PROMPTS.size())), "max_tokens", 400,
                "stream", stream, "temperature", 0.9, "seed", r.nextInt(1000), "n", 1 + r.nextInt(2)));
        try (RawHttp c = new RawHttp(s.port)) {
            c.send(RawHttp.post("/v1/completions", body));
            if (stream) {
                c.socket.setSoTimeout(30_000);
                c.socket.getInputStream().read(new byte[256]); // the headers or a first event, then gone
            } else {
                Thread.sleep(20 + r.nextInt(300));
            }
        } catch (IOException e) {
            // the server may answer 429 and close first; abandoning is the point either way
        }
    }

    static Valid validRequest(TestServer s, int prompt, boolean stream) throws Exception {
        Map<String, Object> body = Map.of("prompt", PROMPTS.get(prompt), "max_tokens", 12, "temperature", 0, "stream", stream);
        if (stream) {
            return new Valid(prompt, true, s.stream(body).text());
        }
        HttpResponse<String> r = s.post("/v1/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = TestServer.JSON.readTree(r.body());
        return new Valid(prompt, false, j.at("/choices/0/text").asText());
    }

    static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return 0;
    }
}
