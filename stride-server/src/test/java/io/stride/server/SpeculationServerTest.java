package io.stride.server;

import io.stride.core.SharedData;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Speculative decoding inside the serving engine: for every drafter, greedy outputs of the first 40 workload prompts
 * (128 tokens, 12 requests in flight, drafters chosen per request) equal those without speculation; /metrics
 * counts drafted and accepted tokens per drafter; an unknown drafter is a 400.
 */
@Tag("slow")
class SpeculationServerTest {
    static final String[] DRAFTERS = {"suffix", "ngram", "ngram-online", "draft", "medusa"};

    static String request(TestServer s, String prompt, String speculation) throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", prompt, "max_tokens", 128, "temperature", 0,
                "speculation", speculation));
        if (r.statusCode() != 200) throw new AssertionError("HTTP " + r.statusCode() + ": " + r.body());
        return TestServer.JSON.readTree(r.body()).get("choices").get(0).get("text").asText();
    }

    @Test
    void everyDrafterIsLosslessUnderConcurrency() throws Exception {
        List<String> prompts = new ArrayList<>();
        for (String p : Workload.prompts(null)) prompts.add(p.substring(Math.max(0, p.length() - 3000)));
        assertThat(prompts).hasSize(80);
        prompts = prompts.subList(0, 40); // 20 'complete' and 20 'edit' rows (the kinds alternate)
        List<String> specs = List.of("suffix", "ngram", "ngram-online", "draft:" + SharedData.model("javatiny-3m-f16.gguf"),
                "medusa:" + SharedData.model("javatiny-26m-medusa-f16.gguf"));
        try (TestServer s = TestServer.builder().maxSeqs(16).kvBlocks(1600).spec(specs, 16).start()) {
            List<String> names = new ArrayList<>();
            names.add("none");
            names.addAll(List.of(DRAFTERS));
            // all requests at once (12 in flight), every prompt with every drafter
            Semaphore inFlight = new Semaphore(12);
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<List<Future<String>>> results = new ArrayList<>();
                for (String name : names) {
                    List<Future<String>> fs = new ArrayList<>();
                    for (String p : prompts) {
                        fs.add(ex.submit(() -> {
                            inFlight.acquire();
                            try {
                                return request(s, p, name);
                            } finally {
                                inFlight.release();
                            }
                        }));
                    }
                    results.add(fs);
                }
                for (int d = 1; d < names.size(); d++) {
                    for (int i = 0; i < prompts.size(); i++) {
                        assertThat(results.get(d).get(i).get()).as("%s, prompt %d", names.get(d), i).isEqualTo(results.get(0).get(i).get());
                    }
                }
            }
            String metrics = s.get("/metrics").body();
            for (String d : DRAFTERS) {
                assertThat(metrics).contains("stride_spec_draft_tokens_total{drafter=\"" + d + "\"}");
            }
            assertThat(metricValue(metrics, "stride_spec_accepted_tokens_total{drafter=\"suffix\"}")).isPositive();
            HttpResponse<String> bad = s.post("/v1/completions", Map.of("prompt", "class A", "max_tokens", 4, "speculation", "magic"));
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("speculation");
            assertThat(s.engine.runningCount()).isZero();
        }
    }

    static double metricValue(String metrics, String name) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1).trim());
        }
        return -1;
    }
}
