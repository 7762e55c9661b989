package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A second request sharing a 1,000-token prefix reuses the cached blocks: hits in /metrics, first token much sooner, same output. */
class PrefixCacheServerTest {
    @Test
    void sharedPrefixIsReused() throws Exception {
        String base = String.join("\n\n", Workload.prompts("complete"));
        try (TestServer s = TestServer.builder().maxBatchTokens(256).start()) {
            // a prefix of about 1,000 tokens
            String prefix = base.substring(0, 4000);
            int[] ids = s.model.tokenizer().encode(prefix);
            while (ids.length > 1000) {
                prefix = prefix.substring(0, prefix.length() - 50);
                ids = s.model.tokenizer().encode(prefix);
            }
            assertThat(ids.length).isBetween(950, 1000);
            String a = prefix + "\n    public int first() {";
            String b = prefix + "\n    public String second() {";
            // warm the JIT on an unrelated prompt so that both timings below see compiled code
            s.stream(Map.of("prompt", base.substring(5000, 9000), "max_tokens", 2, "temperature", 0, "stream", true));
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
                assertThat(cold.complete(b, 8)).isEqualTo(rb.text());
            }
            // a different cache_salt must not see the cached prefix
            double hitsBeforeSalt = s.metric("stride_prefix_cache_hits_total");
            s.post("/v1/completions", Map.of("prompt", b, "max_tokens", 1, "temperature", 0, "cache_salt", "tenant-2"));
            assertThat(s.metric("stride_prefix_cache_hits_total")).isEqualTo(hitsBeforeSalt);
        }
    }
}
