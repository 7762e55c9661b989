package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * While one stream decodes, a 1,500-token prompt arrives. With chunked prefill the stream keeps flowing: its
 * largest inter-token gap is a small fraction of the time the long prompt takes to prefill (measured in the same
 * run, so a slow or busy machine scales both); with chunking off the long prompt freezes the stream for most of
 * its prefill.
 */
class StallFreePrefillTest {
    /** The stream's gaps and the long request's latency, in ms. */
    record Gaps(double median, double max, double longPromptMs) {}

    static Gaps gaps(boolean chunked) throws Exception {
        String longText = String.join("\n\n", Workload.prompts("complete"));
        try (TestServer s = TestServer.builder().chunked(chunked).maxBatchTokens(8).start()) {
            int[] ids = s.model.tokenizer().encode(longText);
            String longPrompt = s.model.tokenizer().decode(java.util.Arrays.copyOfRange(ids, 1, 1501));
            // warm up
            s.complete("public class Warm {", 16);
            s.complete(longPrompt.substring(0, 400), 1);
            CompletableFuture<TestServer.Streamed> stream = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.stream(Map.of("prompt", "public final class Decoder {\n", "max_tokens", 160, "temperature", 0, "stream", true));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(150);
            long t0 = System.nanoTime();
            s.post("/v1/completions", Map.of("prompt", longPrompt, "max_tokens", 1, "temperature", 0));
            double longPromptMs = (System.nanoTime() - t0) / 1e6;
            TestServer.Streamed r = stream.get();
            List<Double> gaps = new ArrayList<>();
            for (int i = 1; i < r.arrivals().size(); i++) gaps.add((r.arrivals().get(i) - r.arrivals().get(i - 1)) / 1e6);
            assertThat(gaps.size()).isGreaterThan(40);
            List<Double> sorted = new ArrayList<>(gaps);
            Collections.sort(sorted);
            double median = sorted.get(sorted.size() / 2);
            double max = sorted.getLast();
            System.out.printf("chunked=%s: %d gaps, median %.2f ms, max %.2f ms, long prompt %.0f ms%n", chunked, gaps.size(),
                    median, max, longPromptMs);
            return new Gaps(median, max, longPromptMs);
        }
    }

    @Test
    void longPromptDoesNotStallRunningStreamWithChunking() throws Exception {
        Gaps g = gaps(true);
        // the prompt is prefilled in ~200 chunks, each sharing a step with the stream's next token: no gap comes
        // near the whole prefill (without chunking the largest gap is most of it)
        assertThat(g.max()).isLessThan(0.15 * g.longPromptMs());
    }

    @Test
    void withoutChunkingTheStreamStalls() throws Exception {
        Gaps g = gaps(false);
        assertThat(g.max()).isGreaterThanOrEqualTo(3.0 * g.median());
        assertThat(g.max()).isGreaterThan(0.5 * g.longPromptMs());
    }
}
