package io.stride.core.model;

import io.stride.core.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import io.stride.core.kv.KvCacheType;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.QuantTarget;
import io.stride.core.tools.SynthPreset;
import io.stride.core.tools.SyntheticModel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A token's logits are bit-identical whatever batch it is computed in (one token at a time, uneven chunks,
 * one large batch, another thread count): the property that continuous batching, preemption by recompute and
 * speculative verification rely on to stay lossless.
 */
class BatchInvarianceTest {
    @ParameterizedTest
    @ValueSource(strings = {"javatiny-3m-f16.gguf", "random/random-llama-quant-q4_0.gguf", "random/random-llama-quant-q8_0.gguf",
            "random/random-llama-quant-q4_k_m.gguf", "random/random-llama-quant-q5_k_m.gguf", "random/random-llama-quant-q6_k.gguf",
            "random/random-llama-quant-bf16.gguf", "random/random-qwen3-qknorm-f32.gguf", "stories260K.gguf"})
    void logitsDoNotDependOnTheBatch(String file) {
        try (Model m = Model.open(SharedData.model(file))) {
            int n = Math.min(60, m.config().contextLength() - 1);
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = (i * 7919 + 13) % m.config().vocab();
            float[] whole = ModelRunner.allLogits(m, tokens, new int[]{n}, 16, 2);
            float[] single = ModelRunner.allLogits(m, tokens, new int[]{1}, 16, 2);
            float[] uneven = ModelRunner.allLogits(m, tokens, new int[]{5, 1, 17, 3, 11, 2}, 8, 1);
            assertThat(firstDifference(single, whole, m.config().vocab())).as("one at a time").isEqualTo("none");
            assertThat(firstDifference(uneven, whole, m.config().vocab())).as("uneven chunks, one thread").isEqualTo("none");
        }
    }

    /**
     * Every KV cache type keeps the promise: whole tiles widened for the vector kernels and single keys widened for
     * the scalar path (block size 8, uneven chunks) give the same bits. javatiny-26m has 4 query heads per KV head
     * (the four-head kernels), javatiny-3m 3 (the one-head kernels).
     */
    @ParameterizedTest
    @CsvSource({"javatiny-26m-f16.gguf,f16", "javatiny-26m-f16.gguf,q8_0", "javatiny-26m-f16.gguf,q4_0", "javatiny-3m-f16.gguf,bf16",
            "javatiny-3m-f16.gguf,q8_0", "javatiny-3m-f16.gguf,q4_0", "javatiny-3m-f16.gguf,f32"})
    void logitsDoNotDependOnTheBatchInEveryCacheType(String file, String type) {
        KvCacheType t = KvCacheType.parse(type);
        try (Model m = Model.open(SharedData.model(file))) {
            assertInvariant(m, t);
        }
    }

    /** A synthetic model with 4 query heads per KV head (heads of 32): the four-head kernels, in every cache type. */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, mode = EnumSource.Mode.EXCLUDE, names = "ZIP") // blocks of 8 here; zip: ZipCacheTest
    void fourHeadKernelsDoNotDependOnTheBatchInEveryCacheType(KvCacheType t, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("gqa4.gguf");
        SynthPreset p = new SynthPreset("test-gqa4", "llama", 256, 2, 8, 2, 512, 1024, false, false, 1024, 10000, "llama", null);
        try (WorkerPool pool = new WorkerPool(2)) {
            SyntheticModel.write(p, QuantTarget.parse("F32"), file, 5, pool);
        }
        try (Model m = Model.open(file)) {
            assertInvariant(m, t);
        }
    }

    /**
     * Past {@link PagedAttention#SPLIT} positions attention is split into runs and merged: one long prompt (every
     * worker computes whole items, all runs of each), single decode steps (runs of one item spread over the workers),
     * one thread, and a tree-like mix all give the same bits.
     */
    @ParameterizedTest
    @ValueSource(strings = {"f16", "q8_0"})
    void splitAttentionDoesNotDependOnTheBatch(String type) {
        KvCacheType t = KvCacheType.parse(type);
        try (Model m = Model.open(SharedData.model("javatiny-3m-f16.gguf"))) {
            int n = PagedAttention.SPLIT + 70;
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = (i * 7919 + 13) % m.config().vocab();
            int vocab = m.config().vocab();
            float[] whole = ModelRunner.allLogits(m, tokens, new int[]{n}, 16, 2, t);
            float[] decode = ModelRunner.allLogits(m, tokens, new int[]{PagedAttention.SPLIT - 10, 1}, 16, 2, t);
            float[] oneThread = ModelRunner.allLogits(m, tokens, new int[]{300, 7, 1, 29}, 8, 1, t);
            float[] fourThreads = ModelRunner.allLogits(m, tokens, new int[]{PagedAttention.SPLIT + 3, 1, 2}, 16, 4, t);
            assertThat(firstDifference(decode, whole, vocab)).as("decode steps").isEqualTo("none");
            assertThat(firstDifference(oneThread, whole, vocab)).as("one thread").isEqualTo("none");
            assertThat(firstDifference(fourThreads, whole, vocab)).as("four threads").isEqualTo("none");
        }
    }

    /** 70 tokens in one batch, one at a time, and in uneven chunks on one thread with blocks of 8: the same bits. */
    private static void assertInvariant(Model m, KvCacheType t) {
        int n = 70;
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = (i * 7919 + 13) % m.config().vocab();
        float[] whole = ModelRunner.allLogits(m, tokens, new int[]{n}, 16, 2, t);
        float[] single = ModelRunner.allLogits(m, tokens, new int[]{1}, 16, 2, t);
        float[] uneven = ModelRunner.allLogits(m, tokens, new int[]{5, 1, 17, 3, 11, 2}, 8, 1, t);
        assertThat(firstDifference(single, whole, m.config().vocab())).as("one at a time").isEqualTo("none");
        assertThat(firstDifference(uneven, whole, m.config().vocab())).as("uneven chunks, one thread").isEqualTo("none");
    }

    static String firstDifference(float[] a, float[] b, int vocab) {
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return "position " + i / vocab + " token " + i % vocab + ": " + a[i] + " vs " + b[i];
            }
        }
        return "none";
    }
}
