package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A second request sharing a 1,000-token prefix reuses the cached blocks: hits in /metrics, first token much sooner, same output. */
class PrefixCacheServerTest {
    @Test
    void sharedPrefixIsReused() throws Exception {
        String base = String.join("\n\n", Workload.prompts("complete"));
        try (TestServer s = TestServer.builder().maxBatchTokens(256).start()) {
            // a prefix of exactly 1,000 tokens (token-array prompts), then two different continuations
            int[] all = s.model.tokenizer().encode(base);
            List<Integer> prefix = new ArrayList<>();
            for (int i = 0; i < 1000; i++) prefix.add(all[i]);
            List<Integer> a = new ArrayList<>(prefix);
            for (int t : s.model.tokenizer().encode("\n    public int first() {", false, false)) a.add(t);
            List<Integer> b = new ArrayList<>(prefix);
            for (int t : s.model.tokenizer().encode("\n    public String second() {", false, false)) b.add(t);
            // warm the JIT on an unrelated prompt so that both timings below see compiled code
            List<Integer> warm = new ArrayList<>();
            for (int i = 3000; i < 4000; i++) warm.add(all[i]);
            s.stream(Map.of("prompt", warm, "max_tokens", 2, "temperature", 0, "stream", true));
            double hitsBefore = s.metric("stride_prefix_cache_hits_total");
            long t0 = System.nanoTime();
            TestServer.Streamed ra = s.stream(Map.of("prompt", a, "max_tokens", 8, "temperature", 0, "stream", true));
            double ttftA = (ra.arrivals().get(0) - t0) / 1e9;
            long t1 = System.nanoTime();
            TestServer.Streamed rb = s.stream(Map.of("prompt", b, "max_tokens", 8, "temperature", 0, "stream", true));
            double ttftB = (rb.arrivals().get(0) - t1) / 1e9;
            double hits = s.metric("stride_prefix_cache_hits_total") - hitsBefore;
            System.out.printf("prefix cache: TTFT cold %.3f s, warm %.3f s, %.0f blocks hit%n", ttftA, ttftB, hits);
            assertThat(hits).isGreaterThanOrEqualTo(55);
            assertThat(ttftB * 3).as("TTFT with cached prefix is at least 3x smaller").isLessThanOrEqualTo(ttftA);
            try (TestServer cold = TestServer.builder().prefixCache(false).start()) {
                var coldResp = cold.post("/v1/completions", Map.of("prompt", b, "max_tokens", 8, "temperature", 0));
                assertThat(TestServer.JSON.readTree(coldResp.body()).get("choices").get(0).get("text").asText()).isEqualTo(rb.text());
            }
            // a different cache_salt must not see the cached prefix
            double hitsBeforeSalt = s.metric("stride_prefix_cache_hits_total");
            s.post("/v1/completions", Map.of("prompt", b, "max_tokens", 1, "temperature", 0, "cache_salt", "tenant-2"));
            assertThat(s.metric("stride_prefix_cache_hits_total")).isEqualTo(hitsBeforeSalt);
        }
    }
}
