package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.SharedData;
import io.stride.core.kv.KvCacheSize;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.model.Model;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same KV memory holds more concurrent sequences in the smaller cache types: with room for 4 sequences of
 * 13 blocks in f32, f16 admits 8 and q8_0 15 at once, without preempting any (each prompt fills 200 of its
 * 208 positions and 8 tokens are generated, so no sequence needs a block after admission).
 */
class KvCapacityTest {
    private static final int PROMPT = 200, GENERATE = 8, BLOCKS_PER_SEQ = 13, REQUESTS = 20;

    @Test
    void smallerCacheTypesAdmitMoreSequencesInTheSameMemory() throws Exception {
        List<int[]> prompts = prompts();
        long memory;
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            memory = 4L * BLOCKS_PER_SEQ * KvCacheSize.bytesPerBlock(m.config(), KvCacheConfig.of(KvCacheType.F32));
        }
        int f32 = peakRunning(KvCacheType.F32, memory, prompts);
        int f16 = peakRunning(KvCacheType.F16, memory, prompts);
        int q8 = peakRunning(KvCacheType.Q8_0, memory, prompts);
        System.out.printf("concurrent sequences in %d bytes of KV: f32 %d, f16 %d, q8_0 %d%n", memory, f32, f16, q8);
        assertThat(f32).isEqualTo(4);
        assertThat((double) f16 / f32).isGreaterThanOrEqualTo(1.9);
        assertThat((double) q8 / f32).isGreaterThanOrEqualTo(3.5);
    }

    /** The most requests running at once while all are served; asserts none was preempted and all finished. */
    private static int peakRunning(KvCacheType type, long memory, List<int[]> prompts) throws Exception {
        try (TestServer s = TestServer.builder().kvCache(KvCacheConfig.of(type)).kvMemory(memory).chunked(false).prefixCache(false)
                .maxBatchTokens(512).maxSeqs(32).start()) {
            AtomicInteger peak = new AtomicInteger();
            AtomicBoolean done = new AtomicBoolean();
            Thread watcher = Thread.ofPlatform().start(() -> {
                while (!done.get()) {
                    peak.accumulateAndGet(s.engine.runningCount(), Math::max);
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000); // steps take milliseconds
                }
            });
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
            for (int[] p : prompts) {
                calls.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return s.post("/v1/completions", Map.of("prompt", p, "max_tokens", GENERATE, "temperature", 0));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, clients)); // all at once, whatever the common pool's size
            }
            for (CompletableFuture<HttpResponse<String>> c : calls) {
                HttpResponse<String> r = c.get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
            done.set(true);
            watcher.join();
            clients.close();
            assertThat(s.engine.preemptions()).as("preemptions with %s", type).isZero();
            long perBlock = KvCacheSize.bytesPerBlock(s.model.config(), KvCacheConfig.of(type));
            assertThat(s.metric("stride_kv_cache_total_bytes")).isEqualTo((double) s.engine.totalBlocks() * perBlock)
                    .isLessThanOrEqualTo(memory);
            assertThat(s.metric("stride_kv_cache_free_bytes")).isEqualTo((double) s.engine.freeBlocks() * perBlock);
            return peak.get();
        }
    }

    /** {@link #REQUESTS} distinct prompts of exactly {@link #PROMPT} tokens of Java. */
    private static List<int[]> prompts() throws Exception {
        List<int[]> out = new ArrayList<>();
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            StringBuilder all = new StringBuilder();
            for (String line : Files.readAllLines(SharedData.require("workloads/java-dev.jsonl"))) {
                if (!line.isBlank()) {
                    JsonNode row = TestServer.JSON.readTree(line);
                    all.append(row.get("prompt").asText()).append("\n\n");
                }
            }
            int[] ids = m.tokenizer().encode(all.toString());
            for (int i = 0; i < REQUESTS; i++) {
                out.add(java.util.Arrays.copyOfRange(ids, 1 + i * PROMPT, 1 + (i + 1) * PROMPT));
            }
        }
        return out;
    }
}
