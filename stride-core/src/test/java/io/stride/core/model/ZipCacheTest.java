package io.stride.core.model;

import io.stride.core.SharedData;
import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.EngineListener;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.UnsupportedFieldException;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ZipOptions;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static io.stride.core.model.BatchInvarianceTest.firstDifference;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ZipCache ({@link KvCacheType#ZIP}): a token reads its own block as the q4_0 base and the blocks before it with their
 * upgrades, so its bits do not depend on the batch, the chunking of its prompt, the thread count or the other
 * sequences in its batch; a prompt reused from the prefix cache gives what computing it gives; what zip cannot serve
 * yet is refused by name (speculation: {@link io.stride.core.spec.SpeculativeLosslessTest}).
 */
class ZipCacheTest {
    private static final KvCacheConfig ZIP = new KvCacheConfig(KvCacheType.ZIP, KvCacheType.ZIP, true, new ZipOptions(2, true));
    private static final KvCacheConfig ZIP_KEYS = new KvCacheConfig(KvCacheType.ZIP, KvCacheType.Q4_0, true, ZipOptions.DEFAULT);
    private static final KvCacheConfig ZIP_VALUES = new KvCacheConfig(KvCacheType.Q4_0, KvCacheType.ZIP, true, ZipOptions.DEFAULT);

    private static int[] tokens(Model m, int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 7919 + seed) % m.config().vocab();
        return t;
    }

    @Test
    void logitsDoNotDependOnTheBatchChunksOrThreads() {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            int vocab = m.config().vocab();
            for (KvCacheConfig kv : new KvCacheConfig[] {ZIP, ZIP_KEYS, ZIP_VALUES}) {
                int[] t = tokens(m, 70, 13);
                float[] whole = ModelRunner.allLogits(m, t, new int[] {70}, 16, 2, kv);
                float[] single = ModelRunner.allLogits(m, t, new int[] {1}, 16, 2, kv);
                float[] uneven = ModelRunner.allLogits(m, t, new int[] {5, 1, 17, 3, 11, 2}, 16, 1, kv);
                float[] four = ModelRunner.allLogits(m, t, new int[] {33, 31, 6}, 16, 4, kv);
                assertThat(firstDifference(single, whole, vocab)).as("%s one at a time", kv).isEqualTo("none");
                assertThat(firstDifference(uneven, whole, vocab)).as("%s uneven chunks, one thread", kv).isEqualTo("none");
                assertThat(firstDifference(four, whole, vocab)).as("%s four threads", kv).isEqualTo("none");
            }
        }
    }

    /**
     * Positions 0..15 read only their own block, from the q8_0 staging: q8_0's bits. Later ones read block 0 as its
     * q4_0 base with the upgrades: other bits, unless every slot is upgraded (salient=16), which reads as q8_0 throughout.
     */
    @Test
    void blocksBeforeATokensOwnAreReadWithUpgradesItsOwnFromTheStaging() {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            int vocab = m.config().vocab();
            int[] t = tokens(m, 40, 29);
            float[] q8 = ModelRunner.allLogits(m, t, new int[] {40}, 16, 2, KvCacheConfig.of(KvCacheType.Q8_0));
            float[] zip = ModelRunner.allLogits(m, t, new int[] {40}, 16, 2, ZIP);
            float[] all = ModelRunner.allLogits(m, t, new int[] {40}, 16, 2,
                    new KvCacheConfig(KvCacheType.ZIP, KvCacheType.ZIP, true, new ZipOptions(16, true)));
            assertThat(firstDifference(java.util.Arrays.copyOf(zip, 16 * vocab), java.util.Arrays.copyOf(q8, 16 * vocab), vocab))
                    .isEqualTo("none");
            assertThat(firstDifference(zip, q8, vocab)).startsWith("position 16 ");
            assertThat(firstDifference(all, q8, vocab)).isEqualTo("none");
        }
    }

    /** Two sequences sharing batches (one closing blocks mid-batch while the other decodes) read what each reads alone. */
    @Test
    void sequencesInOneBatchReadWhatEachReadsAlone() {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"));
             WorkerPool pool = new WorkerPool(2)) {
            int vocab = m.config().vocab();
            int[] a = tokens(m, 50, 3), b = tokens(m, 45, 101);
            float[] aloneA = ModelRunner.allLogits(m, a, new int[] {50}, 16, 2, ZIP);
            float[] aloneB = ModelRunner.allLogits(m, b, new int[] {45}, 16, 2, ZIP);
            Transformer tf = new Transformer(m, pool);
            PagedKvCache cache = tf.newCache(ZIP, 16, 16);
            KvSequence sa = cache.newSequence(), sb = cache.newSequence();
            assertThat(cache.reserve(sa, 50) && cache.reserve(sb, 45)).isTrue();
            float[] gotA = new float[50 * vocab], gotB = new float[45 * vocab];
            int[][] plan = {{20, 1}, {1, 30}, {29, 14}}; // tokens of a, of b per pass
            int pa = 0, pb = 0;
            Batch batch = new Batch();
            float[] buf = new float[64 * vocab];
            for (int[] step : plan) {
                batch.clear();
                for (int i = 0; i < step[0]; i++) batch.add(a[pa + i], pa + i, sa, true);
                for (int i = 0; i < step[1]; i++) batch.add(b[pb + i], pb + i, sb, true);
                tf.forward(batch, cache, buf);
                System.arraycopy(buf, 0, gotA, pa * vocab, step[0] * vocab);
                System.arraycopy(buf, step[0] * vocab, gotB, pb * vocab, step[1] * vocab);
                pa += step[0];
                pb += step[1];
            }
            assertThat(firstDifference(gotA, aloneA, vocab)).as("sequence a").isEqualTo("none");
            assertThat(firstDifference(gotB, aloneB, vocab)).as("sequence b").isEqualTo("none");
        }
    }

    @Test
    void aPromptFromThePrefixCacheGivesWhatComputingItGives() throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"));
             WorkerPool pool = new WorkerPool(2)) {
            int[] prompt = tokens(m, 57, 7);
            AtomicInteger hits = new AtomicInteger();
            EngineListener l = new EngineListener() {
                @Override
                public void prefixCacheHit(int blocks, int positions) {
                    hits.addAndGet(positions);
                }
            };
            int[] cold, warm, uncached;
            try (InferenceEngine g = EngineBuilder.of(m, pool).kvCache(ZIP).maxSequences(2).listener(l).build()) {
                cold = g.generate(prompt, GenerationParams.greedy(24), null, s -> {}).tokens();
                warm = g.generate(prompt, GenerationParams.greedy(24), null, s -> {}).tokens();
            }
            try (InferenceEngine g = EngineBuilder.of(m, pool).kvCache(ZIP).maxSequences(1).prefixCaching(false).build()) {
                uncached = g.generate(prompt, GenerationParams.greedy(24), null, s -> {}).tokens();
            }
            assertThat(hits.get()).as("positions reused").isEqualTo(48);
            assertThat(warm).containsExactly(cold);
            assertThat(uncached).containsExactly(cold);
        }
    }

    @Test
    void whatZipDoesNotServeIsRefusedByName() throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"));
             WorkerPool pool = new WorkerPool(1)) {
            assertThatThrownBy(() -> EngineBuilder.of(m, pool).kvCache(ZIP)
                    .sparseAttention(io.stride.core.sparse.SparseAttention.parse("tidal:budget=64")).build())
                    .hasMessageContaining("sparse attention is not supported with a zip KV cache");
            try (InferenceEngine g = EngineBuilder.of(m, pool).kvCache(ZIP).maxSequences(1).build()) {
                io.stride.core.engine.TokenSink sink = new io.stride.core.engine.TokenSink() {
                    public void onToken(io.stride.core.engine.TokenEvent e) {}
                    public void onFinish(io.stride.core.engine.Finished f) {}
                    public void onError(RuntimeException e) {}
                };
                assertThatThrownBy(() -> g.submit(new io.stride.core.engine.EngineRequest("r", tokens(m, 20, 1), GenerationParams.greedy(4),
                        0, 0, sink, null, null, "tidal:budget=64")))
                        .isInstanceOfSatisfying(UnsupportedFieldException.class, e -> assertThat(e.field()).isEqualTo("sparse_attention"));
            }
            assertThatThrownBy(() -> ZipOptions.parse("salient=17")).hasMessageContaining("salient must be within 0 .. 16");
            assertThatThrownBy(() -> ZipOptions.parse("select=random")).hasMessageContaining("select must be attention or fixed");
            assertThatThrownBy(() -> ZipOptions.parse("bits=2")).hasMessageContaining("unknown key 'bits'");
        }
    }
}
