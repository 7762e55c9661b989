package io.stride.core.engine;

import io.stride.core.SharedData;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.SparseAttention;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Keys in a pool of their own ({@code --kv-key-share}): ShadowKV sequences give back the key blocks of the prompt
 * positions they have factored, so three 600-position prompts decode together in a cache whose key pool holds 52
 * blocks (832 positions: not even two prompts' keys), with the tokens of a cache that keeps every key.
 */
class ShadowKvKeyPoolTest {
    private static final String SPARSE = "shadowkv:budget=64,outliers=2,local=2";
    private static final int PROMPT = 600, TOKENS = 48, BLOCKS = 130;

    @Test
    void shadowKvSequencesOutgrowTheKeyPoolWithTheSameTokens() throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            List<int[]> prompts = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                int[] t = new int[PROMPT];
                for (int i = 0; i < PROMPT; i++) t[i] = (i * 7919 + (r + 3) * i * i + 13) % m.config().vocab();
                prompts.add(t);
            }
            List<List<Integer>> reference;
            try (InferenceEngine plain = build(m, pool, KvCacheConfig.DEFAULT, null)) {
                reference = generate(plain, prompts);
            }
            AtomicReference<InferenceEngine> self = new AtomicReference<>();
            AtomicInteger mostHeld = new AtomicInteger();
            EngineListener watch = new EngineListener() {
                @Override
                public void stepCompleted(int batchTokens, double seconds) {
                    InferenceEngine e = self.get();
                    if (e != null) mostHeld.accumulateAndGet(e.usedBlocks(), Math::max);
                }
            };
            KvCacheConfig pooled = KvCacheConfig.of(KvCacheType.F16).withKeyShare(0.4);
            InferenceEngine e = build(m, pool, pooled, watch);
            self.set(e);
            List<List<Integer>> got = generate(e, prompts);
            for (int r = 0; r < 3; r++) {
                assertThat(got.get(r)).as("request %d", r).isEqualTo(reference.get(r));
            }
            System.out.println("most blocks held at once: " + mostHeld.get());
            // 52 key blocks; three prompts of 38 blocks each were held at once: their factored keys had gone back
            assertThat(mostHeld.get()).as("blocks held at once").isGreaterThan(2 * 38);
            // a dense request still needs a key block for every position: longer than the key pool is refused
            assertThatThrownBy(() -> e.generate(new int[900], GenerationParams.greedy(8), null, s -> { }))
                    .hasMessageContaining("KV blocks");
            e.close();
            // the default size keeps a whole context's keys: 1,024 positions need 64 key blocks, so 160 blocks at 0.4
            int blocks = io.stride.core.kv.KvCacheSize.resolve(m.config(), pooled, 1024, 1, null, null).blocks();
            assertThat(blocks).isEqualTo(160);
            assertThat(pooled.keyBlocks(blocks)).isGreaterThanOrEqualTo(64);
        }
    }

    private static InferenceEngine build(Model m, WorkerPool pool, KvCacheConfig kv, EngineListener listener) {
        EngineBuilder b = EngineBuilder.of(m, pool).kvCache(kv).kvBlocks(BLOCKS).context(1024).maxSequences(3).maxBatchTokens(256)
                .sparseAttention(SparseAttention.parse(SPARSE));
        if (listener != null) b.listener(listener);
        return b.build();
    }

    /** The three prompts submitted together; the greedy tokens of each. */
    private static List<List<Integer>> generate(InferenceEngine e, List<int[]> prompts) throws Exception {
        List<List<Integer>> out = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        List<AtomicReference<List<Integer>>> results = new ArrayList<>();
        for (int[] p : prompts) {
            AtomicReference<List<Integer>> r = new AtomicReference<>();
            results.add(r);
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    r.set(toList(e.generate(p, GenerationParams.greedy(TOKENS), null, s -> { }).tokens()));
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread t : threads) t.join();
        for (var r : results) out.add(r.get());
        return out;
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> l = new ArrayList<>(a.length);
        for (int v : a) l.add(v);
        return l;
    }
}
