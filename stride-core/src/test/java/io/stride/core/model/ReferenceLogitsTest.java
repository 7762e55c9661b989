package io.stride.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Our logits against llama.cpp's for every model in reference/logits, in one batch and through the paged cache in pieces. */
class ReferenceLogitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Reference(int[] tokens, int vocab, float[] logits, Path model) {}

    static Reference load(String name) throws IOException {
        Path json = SharedData.require("reference/logits/" + name + ".json");
        JsonNode n = JSON.readTree(json.toFile());
        int[] tokens = new int[n.get("tokens").size()];
        for (int i = 0; i < tokens.length; i++) tokens[i] = n.get("tokens").get(i).asInt();
        int vocab = n.get("shape").get(1).asInt();
        byte[] raw = Files.readAllBytes(SharedData.require("reference/logits/" + name + ".logits.f32"));
        float[] logits = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);
        return new Reference(tokens, vocab, logits, SharedData.root().resolve(n.get("model").asText()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"random-llama-gqa-f32", "random-llama-quant-f32", "random-llama31-ropefreqs-f32",
            "random-qwen2-bias-f32", "random-qwen3-qknorm-f32"})
    void f32ModelsMatchLlamaCpp(String name) throws IOException {
        Reference ref = load(name);
        try (Model m = Model.open(SharedData.model("random/" + name + ".gguf"))) {
            float[] ours = ModelRunner.allLogits(m, ref.tokens, new int[]{ref.tokens.length}, 16, 2);
            assertThat(maxAbsDiff(ours, ref.logits)).as("max |Δlogit| vs llama.cpp").isLessThanOrEqualTo(0.02);
            checkChunkedMatches(m, ref.tokens, ours);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"random-llama-quant-bf16", "random-llama-quant-q8_0", "random-llama-quant-q4_0",
            "random-llama-quant-q4_k_m", "random-llama-quant-q5_k_m", "random-llama-quant-q6_k", "random-llama-quant-q2_k",
            "random-llama-quant-q3_k_m", "random-llama-quant-iq4_xs"})
    void quantizedModelsMatchLlamaCpp(String name) throws IOException {
        Reference ref = load(name);
        try (Model m = Model.open(SharedData.model("random/" + name + ".gguf"))) {
            float[] ours = ModelRunner.allLogits(m, ref.tokens, new int[]{ref.tokens.length}, 16, 2);
            double kl = meanKl(ref.logits, ours, ref.vocab);
            System.out.printf("%s: mean KL %.3g, max |Δ| %.4f%n", name, kl, maxAbsDiff(ours, ref.logits));
            assertThat(kl).as("mean KL(llama.cpp || ours)").isLessThanOrEqualTo(2e-3);
            assertThat(maxAbsDiff(ours, ref.logits)).as("max |Δlogit|").isLessThanOrEqualTo(0.5);
            checkChunkedMatches(m, ref.tokens, ours);
            if (name.endsWith("q4_0")) {
                // integer products (the default for Q4_0): exact sums, so one token at a time gives the very same bits
                float[] single = ModelRunner.allLogits(m, ref.tokens, new int[]{1}, 16, 2);
                assertThat(maxAbsDiff(single, ours)).as("integer Q4_0, one token at a time vs one batch").isEqualTo(0.0);
            }
        }
    }

    /**
     * Q4_0 multiplied in floats ({@code -Dstride.q4_0=float}; the default multiplies in integers, llama.cpp's own
     * q4_0 · q8_0 arithmetic, checked above) is as close to llama.cpp, and batch-invariant too.
     */
    @org.junit.jupiter.api.Test
    void floatQ4_0MatchesLlamaCpp() throws IOException {
        Reference ref = load("random-llama-quant-q4_0");
        System.setProperty("stride.q4_0", "float");
        Model m;
        try {
            m = Model.open(SharedData.model("random/random-llama-quant-q4_0.gguf"));
        } finally {
            System.clearProperty("stride.q4_0");
        }
        try (m) {
            float[] ours = ModelRunner.allLogits(m, ref.tokens, new int[]{ref.tokens.length}, 16, 2);
            double kl = meanKl(ref.logits, ours, ref.vocab);
            System.out.printf("random-llama-quant-q4_0, float products: mean KL %.3g, max |Δ| %.4f%n", kl, maxAbsDiff(ours, ref.logits));
            assertThat(kl).as("mean KL(llama.cpp || ours)").isLessThanOrEqualTo(2e-3);
            assertThat(maxAbsDiff(ours, ref.logits)).as("max |Δlogit|").isLessThanOrEqualTo(0.5);
            checkChunkedMatches(m, ref.tokens, ours);
        }
    }

    /** One token at a time and uneven chunks give the one-batch logits (≤ 1e-3). */
    private static void checkChunkedMatches(Model m, int[] tokens, float[] oneBatch) {
        float[] single = ModelRunner.allLogits(m, tokens, new int[]{1}, 16, 2);
        assertThat(maxAbsDiff(single, oneBatch)).as("one token at a time vs one batch").isLessThanOrEqualTo(1e-3);
        float[] uneven = ModelRunner.allLogits(m, tokens, new int[]{5, 1, 17, 3, 11, 2}, 8, 1);
        assertThat(maxAbsDiff(uneven, oneBatch)).as("uneven chunks vs one batch").isLessThanOrEqualTo(1e-3);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /** mean over positions of KL(p || q) with p from {@code ref}, q from {@code ours}. */
    static double meanKl(float[] ref, float[] ours, int vocab) {
        int rows = ref.length / vocab;
        double total = 0;
        for (int r = 0; r < rows; r++) {
            double[] lp = logSoftmax(ref, r * vocab, vocab);
            double[] lq = logSoftmax(ours, r * vocab, vocab);
            double kl = 0;
            for (int i = 0; i < vocab; i++) kl += Math.exp(lp[i]) * (lp[i] - lq[i]);
            total += kl;
        }
        return total / rows;
    }

    static double[] logSoftmax(float[] l, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, l[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(l[off + i] - max);
        double lse = max + Math.log(sum);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = l[off + i] - lse;
        return out;
    }
}
