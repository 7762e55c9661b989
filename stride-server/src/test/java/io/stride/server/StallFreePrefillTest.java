package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * While one stream decodes, a 1,500-token prompt arrives. With chunked prefill the stream's largest
 * inter-token gap stays below 3x its median gap; with chunking off the long prompt freezes the stream.
 */
class StallFreePrefillTest {
    static double gapRatio(boolean chunked) throws Exception {
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
            s.post("/v1/completions", Map.of("prompt", longPrompt, "max_tokens", 1, "temperature", 0));
            TestServer.Streamed r = stream.get();
            List<Double> gaps = new ArrayList<>();
            for (int i = 1; i < r.arrivals().size(); i++) gaps.add((r.arrivals().get(i) - r.arrivals().get(i - 1)) / 1e6);
            assertThat(gaps.size()).isGreaterThan(40);
            List<Double> sorted = new ArrayList<>(gaps);
            Collections.sort(sorted);
            double median = sorted.get(sorted.size() / 2);
            double max = sorted.getLast();
            System.out.printf("chunked=%s: %d gaps, median %.2f ms, max %.2f ms%n", chunked, gaps.size(), median, max);
            return max / median;
        }
    }

    @Test
    void longPromptDoesNotStallRunningStreamWithChunking() throws Exception {
        // a timing on a shared 2-core machine: a neighbour's burst can stretch one gap, so one retry is allowed
        double ratio = gapRatio(true);
        if (ratio >= 3.0) {
            ratio = Math.min(ratio, gapRatio(true));
        }
        assertThat(ratio).isLessThan(3.0);
    }

    @Test
    void withoutChunkingTheStreamStalls() throws Exception {
        assertThat(gapRatio(false)).isGreaterThanOrEqualTo(3.0);
    }
}
