package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ScanParams;

import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several {@code stride serve} processes on loopback sharing a real Valkey/Redis server ({@code STRIDE_REDIS}, started by
 * .ci/run): a prefix computed on replica A is a hit on replica B; prefill/decode roles give a colocated server's
 * output; a prefill server killed mid-handoff, a corrupt store and a stopped store leave every request answered
 * with the same tokens; another cache_salt gets no hits; the handoff route needs the API key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicasTest {
    static final int BLOCK = 16;
    String redis;
    String prefix;
    ServeProcess cold, a, b, prefill, decode;
    final List<ServeProcess> all = new ArrayList<>();
    List<String> rows;

    @BeforeAll
    void start() throws Exception {
        redis = System.getenv("STRIDE_REDIS");
        if (redis == null || redis.isBlank()) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("STRIDE_REDIS is not set: .ci/run starts a Redis server and sets it");
            }
            Assumptions.abort("STRIDE_REDIS not set (a Redis/Valkey server, e.g. redis://127.0.0.1:6379)");
        }
        prefix = "test" + System.nanoTime();
        rows = new ArrayList<>();
        for (String line : Files.readAllLines(SharedData.require("workloads/java-dev.jsonl"))) {
            rows.add(ServeProcess.JSON.readTree(line).get("prompt").asText());
        }
        String model = SharedData.model("javatiny-26m-f16.gguf").toString();
        List<String> common = List.of("-m", model, "-t", "1", "--no-warmup", "-c", "2048", "--kv-memory", "64M");
        List<String> store = List.of("--kv-store", redis, "--kv-store-prefix", prefix);
        cold = add(new ServeProcess("cold", null, common));
        a = add(new ServeProcess("A", null, concat(common, store)));
        b = add(new ServeProcess("B", null, concat(common, store)));
        prefill = add(new ServeProcess("prefill", "k-prefill", concat(common, store, List.of("--role", "prefill"))));
        decode = add(new ServeProcess("decode", "k-prefill", concat(common, store, List.of("--role", "decode", "--prefill-url",
                prefill.url()))));
        for (ServeProcess p : all) {
            p.complete("public class Warm { int x; void f() {", 8, "warm-" + p.name); // compiles the hot paths
        }
    }

    private ServeProcess add(ServeProcess p) {
        all.add(p);
        return p;
    }

    @SafeVarargs
    static List<String> concat(List<String>... parts) {
        List<String> out = new ArrayList<>();
        for (List<String> p : parts) out.addAll(p);
        return out;
    }

    @AfterAll
    void stop() throws Exception {
        for (ServeProcess p : all) {
            p.close();
        }
    }

    /** 1,000 tokens of Java (token ids): workload rows i, i + 1, ... */
    List<Integer> prompt(int i) throws Exception {
        StringBuilder s = new StringBuilder();
        for (int r = i; s.length() < 6000; r++) s.append(rows.get(r % rows.size()));
        HttpResponse<String> t = cold.post("/tokenize", Map.of("content", s.toString()), true);
        List<Integer> ids = new ArrayList<>();
        ServeProcess.JSON.readTree(t.body()).get("tokens").forEach(n -> ids.add(n.asInt()));
        assertThat(ids.size()).isGreaterThan(1000);
        return ids.subList(0, 1000);
    }

    @Test
    @Order(1)
    void aPrefixComputedOnOneReplicaIsAHitOnAnother() throws Exception {
        List<Integer> p = prompt(0);
        JsonNode expected = cold.complete(p, 16, null);
        assertThat(ServeProcess.text(a.complete(p, 16, null))).isEqualTo(ServeProcess.text(expected));
        JsonNode onB = b.complete(p, 16, null);
        int promptTokens = onB.get("usage").get("prompt_tokens").asInt();
        assertThat(promptTokens).isEqualTo(1000);
        assertThat(ServeProcess.text(onB)).as("replica B reusing A's prefix").isEqualTo(ServeProcess.text(expected));
        // every position but the last: the full blocks and the partial tail A published when its request ended
        assertThat(ServeProcess.cachedTokens(onB)).isEqualTo(promptTokens - 1);
        assertThat(b.metric("stride_kv_store_hit_blocks_total")).isEqualTo((promptTokens - 1) / BLOCK + 1);
        // time to first token: a cold prefill of a new prompt against B fetching what A computed
        List<Integer> q = prompt(5);
        a.complete(q, 1, null);
        long t0 = System.nanoTime();
        cold.complete(q, 1, null);
        double coldSeconds = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        JsonNode hit = b.complete(q, 1, null);
        double hitSeconds = (System.nanoTime() - t0) / 1e9;
        assertThat(ServeProcess.cachedTokens(hit)).isPositive();
        assertThat(hitSeconds).as("TTFT with the shared prefix %.3f s, cold %.3f s", hitSeconds, coldSeconds).isLessThan(0.5 * coldSeconds);
        // another tenant: nothing from the store, the same output
        double hits = b.metric("stride_kv_store_hit_blocks_total");
        JsonNode salted = b.complete(p, 16, "tenant-2");
        assertThat(ServeProcess.cachedTokens(salted)).isZero();
        assertThat(b.metric("stride_kv_store_hit_blocks_total")).isEqualTo(hits);
        assertThat(ServeProcess.text(salted)).isEqualTo(ServeProcess.text(expected));
    }

    @Test
    @Order(2)
    void prefillAndDecodeRolesGiveTheColocatedOutput() throws Exception {
        HttpResponse<String> anonymous = prefill.post("/internal/prefill", Map.of("prompt_token_ids", List.of(1, 2, 3)), false);
        assertThat(anonymous.statusCode()).as("the handoff route needs the API key").isEqualTo(401);
        double computedBefore = decode.metric("stride_prompt_tokens_total");
        for (int i : new int[] {10, 20}) {
            List<Integer> p = prompt(i);
            JsonNode expected = cold.complete(p, 16, null);
            JsonNode got = decode.complete(p, 16, null);
            assertThat(ServeProcess.text(got)).as("prompt %d through prefill/decode", i).isEqualTo(ServeProcess.text(expected));
            assertThat(ServeProcess.cachedTokens(got)).isEqualTo(got.get("usage").get("prompt_tokens").asInt() - 1);
        }
        // the decode server computed only the last token of each prompt
        assertThat(decode.metric("stride_prompt_tokens_total") - computedBefore).isEqualTo(2);
        assertThat(prefill.metric("stride_kv_store_published_blocks_total")).isGreaterThan(100);
    }

    @Test
    @Order(3)
    void aCorruptStoreIsIgnored() throws Exception {
        List<Integer> p = prompt(30);
        Set<String> before = keys();
        a.complete(p, 4, "tenant-4");
        try (Jedis j = jedis()) {
            Set<String> added = keys();
            added.removeAll(before);
            assertThat(added).isNotEmpty();
            int n = 0;
            for (String k : added) {
                byte[] v = j.get(k.getBytes(StandardCharsets.UTF_8));
                byte[] bad = switch (n++ % 2) {
                    case 0 -> java.util.Arrays.copyOf(v, v.length / 2); // truncated
                    default -> { v[v.length / 2] ^= 0x10; yield v; } // one bit flipped
                };
                j.set(k.getBytes(StandardCharsets.UTF_8), bad);
            }
        }
        double rejected = b.metric("stride_kv_store_rejected_blocks_total");
        JsonNode got = b.complete(p, 16, "tenant-4");
        assertThat(ServeProcess.cachedTokens(got)).isZero();
        assertThat(b.metric("stride_kv_store_rejected_blocks_total")).isGreaterThan(rejected);
        assertThat(ServeProcess.text(got)).isEqualTo(ServeProcess.text(cold.complete(p, 16, null)));
    }

    @Test
    @Order(4)
    void killingThePrefillServerMidHandoffLosesNothing() throws Exception {
        List<Integer> p = prompt(40);
        String expected = ServeProcess.text(cold.complete(p, 16, null));
        CompletableFuture<JsonNode> pending = CompletableFuture.supplyAsync(() -> {
            try {
                return decode.complete(p, 16, null);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(300); // the prefill server is computing the prompt now
        prefill.kill();
        assertThat(ServeProcess.text(pending.get(120, TimeUnit.SECONDS))).isEqualTo(expected);
        // later requests too (each handoff fails at once and the prompt is computed here)
        List<Integer> q = prompt(50);
        assertThat(ServeProcess.text(decode.complete(q, 16, null))).isEqualTo(ServeProcess.text(cold.complete(q, 16, null)));
    }

    @Test
    @Order(5)
    void aStoppedStoreLeavesEveryRequestAnswered() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process store;
        try {
            store = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (java.io.IOException e) {
            if ("true".equals(System.getenv("CI"))) throw e;
            Assumptions.abort("redis-server not installed");
            return;
        }
        try {
            Thread.sleep(500);
            ServeProcess e = add(new ServeProcess("E", null, List.of("-m", SharedData.model("javatiny-26m-f16.gguf").toString(), "-t", "1",
                    "--no-warmup", "-c", "2048", "--kv-memory", "64M", "--kv-store", "redis://127.0.0.1:" + port)));
            List<Integer> p = prompt(60);
            assertThat(ServeProcess.text(e.complete(p, 8, null))).isEqualTo(ServeProcess.text(cold.complete(p, 8, null)));
            store.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            for (int i : new int[] {61, 62, 63}) {
                List<Integer> q = prompt(i);
                assertThat(ServeProcess.text(e.complete(q, 8, null))).as("prompt %d, store stopped", i)
                        .isEqualTo(ServeProcess.text(cold.complete(q, 8, null)));
            }
            assertThat(e.metric("stride_kv_store_errors_total")).isGreaterThanOrEqualTo(1);
        } finally {
            store.destroyForcibly();
        }
    }

    private Jedis jedis() {
        return new Jedis(java.net.URI.create(redis));
    }

    private Set<String> keys() {
        Set<String> out = new HashSet<>();
        try (Jedis j = jedis()) {
            String cursor = ScanParams.SCAN_POINTER_START;
            do {
                var page = j.scan(cursor, new ScanParams().match(prefix + ":*").count(1000));
                out.addAll(page.getResult());
                cursor = page.getCursor();
            } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        }
        return out;
    }
}
