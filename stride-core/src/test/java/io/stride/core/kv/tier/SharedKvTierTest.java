package io.stride.core.kv.tier;

import io.stride.core.SharedData;
import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.EngineRequest;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.SyncGeneration;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two engines sharing a store, as two replicas would: a long prefix computed by one is fetched by the other, whose
 * output equals a cold engine's; records that are corrupt, truncated, of another model or of another tenant are never
 * installed; a store that fails costs reuse, never output.
 */
class SharedKvTierTest {
    static Model model;
    static Model other;
    static WorkerPool pool;
    static int[] prompt;
    static final GenerationParams PARAMS = GenerationParams.greedy(16);

    @BeforeAll
    static void load() throws Exception {
        model = Model.open(SharedData.model("javatiny-26m-f16.gguf"));
        other = Model.open(SharedData.model("javatiny-3m-f16.gguf"));
        pool = new WorkerPool(2);
        String line = Files.readAllLines(SharedData.require("workloads/java-dev.jsonl")).getFirst();
        String text = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("prompt").asText();
        int[] all = model.tokenizer().encode(text);
        prompt = Arrays.copyOf(all, Math.min(all.length, 1000));
        assertThat(prompt.length).isGreaterThan(400);
        assertThat((prompt.length - 1) % 16).as("the prompt ends in a partial block").isNotZero();
    }

    @AfterAll
    static void close() {
        model.close();
        other.close();
        pool.close();
    }

    static InferenceEngine engine(Model m, KvStore store, KvCacheConfig kv) {
        return EngineBuilder.of(m, pool).context(2048).maxSequences(2).kvCache(kv).kvStore(store, "t", null).build();
    }

    static GenerationResult run(InferenceEngine e, long salt) throws Exception {
        return SyncGeneration.run(e, "r", prompt, PARAMS, null, t -> { }, salt);
    }

    static int fullBlocks() {
        return (prompt.length - 1) / 16;
    }

    /** Records a replica fetches for the prompt: its full blocks and the partial tail (all but the last token). */
    static int records() {
        return fullBlocks() + ((prompt.length - 1) % 16 == 0 ? 0 : 1);
    }

    @Test
    void aPrefixComputedOnOneEngineIsReusedByAnotherWithTheSameOutput() throws Exception {
        for (KvCacheConfig kv : new KvCacheConfig[] {KvCacheConfig.DEFAULT, KvCacheConfig.of(KvCacheType.Q8_0)}) {
            String cold;
            try (InferenceEngine e = EngineBuilder.of(model, pool).context(2048).maxSequences(2).kvCache(kv).build()) {
                cold = run(e, 0).text();
            }
            MapKvStore store = new MapKvStore();
            try (InferenceEngine a = engine(model, store, kv)) {
                assertThat(run(a, 0).text()).isEqualTo(cold);
                a.kvTier().flush().get(10, TimeUnit.SECONDS);
                assertThat(a.kvTier().publishedBlocks()).as(kv.toString()).isGreaterThanOrEqualTo(fullBlocks());
            }
            try (InferenceEngine b = engine(model, store, kv)) {
                GenerationResult r = run(b, 0);
                assertThat(b.kvTier().fetchedBlocks()).as(kv.toString()).isEqualTo(records());
                assertThat(r.text()).as(kv + ": output of a replica reusing the shared prefix").isEqualTo(cold);
                // another tenant's salt finds nothing
                GenerationResult salted = run(b, 77);
                assertThat(b.kvTier().fetchedBlocks()).isEqualTo(records());
                assertThat(salted.text()).isEqualTo(cold);
            }
        }
    }

    @Test
    void blocksTheStoreLostArePublishedAgainByAReplicaHoldingThem() throws Exception {
        MapKvStore store = new MapKvStore();
        try (InferenceEngine a = engine(model, store, KvCacheConfig.DEFAULT)) {
            String first = run(a, 0).text();
            a.kvTier().flush().get(10, TimeUnit.SECONDS);
            int stored = store.map.size();
            store.map.clear(); // the store evicted everything; A still holds the prefix
            assertThat(run(a, 0).text()).isEqualTo(first);
            a.kvTier().flush().get(10, TimeUnit.SECONDS);
            assertThat(store.map.size()).as("full blocks back in the store").isGreaterThanOrEqualTo(fullBlocks());
            assertThat(store.map.size()).isLessThanOrEqualTo(stored);
            try (InferenceEngine b = engine(model, store, KvCacheConfig.DEFAULT)) {
                assertThat(run(b, 0).text()).isEqualTo(first);
                assertThat(b.kvTier().fetchedBlocks()).isGreaterThanOrEqualTo(fullBlocks());
            }
        }
    }

    @Test
    void fetchedBytesWaitingForAdmissionAreCapped() throws Exception {
        MapKvStore store = new MapKvStore();
        try (InferenceEngine a = engine(model, store, KvCacheConfig.DEFAULT)) {
            run(a, 0);
            a.kvTier().flush().get(10, TimeUnit.SECONDS);
        }
        var cache = new io.stride.core.model.Transformer(model, pool).newCache(KvCacheConfig.DEFAULT, 16, 4);
        PromptChains chains = PromptChains.of(prompt, prompt.length - 1, 16, 0);
        long record = BlockRecord.Shape.of(new byte[32], cache).headerBytes() + BlockRecord.payloadBytes(cache) + 4;
        try (KvTier roomy = new KvTier(store, ModelFingerprint.of(model.file()), cache, "t", 5000, 1L << 30);
             KvTier tight = new KvTier(store, ModelFingerprint.of(model.file()), cache, "t", 5000, 3 * record)) {
            KvTier.Fetched got = roomy.fetch(prompt, chains, 0, 0);
            assertThat(got.blocks()).hasSize(fullBlocks());
            assertThat(got.tail()).isNotNull();
            assertThat(roomy.heldBytes()).isEqualTo((fullBlocks() + 1) * record);
            got.release();
            got.release();
            assertThat(roomy.heldBytes()).isZero();
            assertThat(tight.fetch(prompt, chains, 0, 0)).isSameAs(KvTier.Fetched.NONE);
            assertThat(tight.skippedFetches()).isEqualTo(1);
            // two blocks fit the cap: from the second-to-last full block on
            KvTier.Fetched rest = tight.fetch(prompt, chains, fullBlocks() - 1, 0);
            assertThat(rest.blocks()).hasSize(1);
            assertThat(rest.tail()).isNotNull();
        }
    }

    @Test
    void badRecordsAreIgnoredAndAFailingStoreOnlyCostsReuse() throws Exception {
        MapKvStore store = new MapKvStore();
        String cold;
        try (InferenceEngine a = engine(model, store, KvCacheConfig.DEFAULT)) {
            cold = run(a, 0).text();
            a.kvTier().flush().get(10, TimeUnit.SECONDS);
        }
        Map<String, byte[]> good = Map.copyOf(store.map);
        // a flipped payload byte, a truncated value, and another block's record under each key
        for (int mode = 0; mode < 3; mode++) {
            store.map.clear();
            for (var en : good.entrySet()) {
                byte[] v = en.getValue().clone();
                switch (mode) {
                    case 0 -> v[v.length / 2] ^= 1;
                    case 1 -> v = Arrays.copyOf(v, v.length - 100);
                    default -> v = good.values().stream().filter(x -> x != en.getValue()).findFirst().orElseThrow();
                }
                store.map.put(en.getKey(), v);
            }
            try (InferenceEngine b = engine(model, store, KvCacheConfig.DEFAULT)) {
                assertThat(run(b, 0).text()).as("mode " + mode).isEqualTo(cold);
                assertThat(b.kvTier().fetchedBlocks()).as("mode " + mode).isZero();
                assertThat(b.kvTier().rejectedBlocks()).as("mode " + mode).isEqualTo(1);
            }
        }
        // another model's engine, same store: its keys differ, and its records under our keys are refused
        store.map.clear();
        store.map.putAll(good);
        try (InferenceEngine c = engine(other, store, KvCacheConfig.DEFAULT)) {
            run(c, 0);
            assertThat(c.kvTier().fetchedBlocks()).isZero();
        }
        // a store that fails: every request still answered, the same
        store.failing = true;
        try (InferenceEngine d = engine(model, store, KvCacheConfig.DEFAULT)) {
            assertThat(run(d, 0).text()).isEqualTo(cold);
            assertThat(run(d, 0).text()).isEqualTo(cold);
            assertThat(d.kvTier().storeErrors()).isGreaterThanOrEqualTo(1);
        }
    }
}
