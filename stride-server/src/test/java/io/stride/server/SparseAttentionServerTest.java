package io.stride.server;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code sparse_attention} request field: TidalDecode, ShadowKV and dense requests share batches without changing
 * each other's greedy output (each equals what it gives alone), and bad modes, layers or ranks are 400s naming the field.
 */
@Tag("slow")
class SparseAttentionServerTest {
    static final String TIDAL = "tidal:budget=48", SHADOW = "shadowkv:budget=48,outliers=2,local=2";

    static String complete(TestServer s, String prompt, String sparse) throws Exception {
        Map<String, Object> body = new HashMap<>(Map.of("prompt", prompt, "max_tokens", 48, "temperature", 0));
        if (sparse != null) body.put("sparse_attention", sparse);
        HttpResponse<String> r = s.post("/v1/completions", body);
        if (r.statusCode() != 200) throw new AssertionError("HTTP " + r.statusCode() + ": " + r.body());
        return TestServer.JSON.readTree(r.body()).get("choices").get(0).get("text").asText();
    }

    @Test
    void sparseAndDenseRequestsShareBatchesWithoutChangingEachOther() throws Exception {
        List<String> prompts = new ArrayList<>();
        for (String p : Workload.prompts("complete")) {
            if (prompts.size() < 10) prompts.add(p.substring(Math.max(0, p.length() - 1500)));
        }
        try (TestServer s = TestServer.builder().maxSeqs(20).kvBlocks(800).start()) {
            List<String> aloneSparse = new ArrayList<>(), aloneShadow = new ArrayList<>(), aloneDense = new ArrayList<>();
            for (String p : prompts) {
                aloneSparse.add(complete(s, p, TIDAL));
                aloneShadow.add(complete(s, p, SHADOW));
                aloneDense.add(complete(s, p, "none"));
            }
            assertThat(aloneSparse).as("the sparse mode changes some output").isNotEqualTo(aloneDense);
            assertThat(aloneShadow).as("shadowkv changes some output").isNotEqualTo(aloneDense);
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> sparse = new ArrayList<>(), shadow = new ArrayList<>(), dense = new ArrayList<>();
                for (String p : prompts) {
                    sparse.add(ex.submit(() -> complete(s, p, TIDAL)));
                    shadow.add(ex.submit(() -> complete(s, p, SHADOW)));
                    dense.add(ex.submit(() -> complete(s, p, null)));
                }
                for (int i = 0; i < prompts.size(); i++) {
                    assertThat(sparse.get(i).get()).as("sparse prompt %d in a mixed batch", i).isEqualTo(aloneSparse.get(i));
                    assertThat(shadow.get(i).get()).as("shadowkv prompt %d in a mixed batch", i).isEqualTo(aloneShadow.get(i));
                    assertThat(dense.get(i).get()).as("dense prompt %d in a mixed batch", i).isEqualTo(aloneDense.get(i));
                }
            }
            for (String bad : List.of("quest", "tidal:budget=0", "tidal:select=99", "tidal:top=3", "shadowkv:rank=9999",
                    "shadowkv:budget=50", "shadowkv:chunk=0", "shadowkv:top=3")) {
                HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", "class A", "max_tokens", 4, "sparse_attention", bad));
                assertThat(r.statusCode()).as(bad).isEqualTo(400);
                assertThat(r.body()).as(bad).contains("sparse_attention").doesNotContain("Exception");
            }
            HttpResponse<String> wrongType = s.post("/v1/completions", Map.of("prompt", "class A", "max_tokens", 4, "sparse_attention", 5));
            assertThat(wrongType.statusCode()).isEqualTo(400);
            assertThat(s.engine.runningCount()).isZero();
        }
    }

    /**
     * Keys in a pool of their own (half the blocks): ShadowKV requests give their factored prompt keys back and write
     * what a server keeping every key writes; a prompt sent again (its given-back blocks left the prefix cache) and a
     * dense request after them too; the key pool shows in /metrics.
     */
    @Test
    void aKeyPoolServesShadowKvWithTheSameOutput() throws Exception {
        List<String> prompts = new ArrayList<>();
        for (String p : Workload.prompts("complete")) {
            if (prompts.size() < 3) prompts.add(p.substring(Math.max(0, p.length() - 1500)));
        }
        List<String> shadow = new ArrayList<>();
        String dense;
        try (TestServer s = TestServer.builder().maxSeqs(4).kvBlocks(200).start()) {
            for (String p : prompts) shadow.add(complete(s, p, SHADOW));
            dense = complete(s, prompts.getFirst(), null);
        }
        var pooled = io.stride.core.kv.KvCacheConfig.DEFAULT.withKeyShare(0.5);
        try (TestServer s = TestServer.builder().maxSeqs(4).kvBlocks(200).kvCache(pooled).start()) {
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> got = new ArrayList<>();
                for (String p : prompts) got.add(ex.submit(() -> complete(s, p, SHADOW)));
                for (int i = 0; i < prompts.size(); i++) {
                    assertThat(got.get(i).get()).as("shadowkv prompt %d, key pool", i).isEqualTo(shadow.get(i));
                }
            }
            assertThat(complete(s, prompts.getFirst(), SHADOW)).as("sent again").isEqualTo(shadow.getFirst());
            assertThat(complete(s, prompts.getFirst(), null)).as("dense after shadowkv").isEqualTo(dense);
            String metrics = s.get("/metrics").body();
            assertThat(metrics).contains("stride_kv_key_blocks 100.0").contains("stride_kv_key_blocks_free");
            assertThat(s.engine.usedBlocks()).isZero();
        }
    }
}
