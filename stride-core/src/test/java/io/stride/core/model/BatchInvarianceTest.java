package io.stride.core.model;

import io.stride.core.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    static String firstDifference(float[] a, float[] b, int vocab) {
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return "position " + i / vocab + " token " + i % vocab + ": " + a[i] + " vs " + b[i];
            }
        }
        return "none";
    }
}
