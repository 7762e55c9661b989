package io.stride.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * IQ4_NL against llama.cpp: the test rebuilds the IQ4_NL model llama.cpp was run on ({@link Iq4NlFile}, checked by its
 * SHA-256) and compares our logits with llama.cpp's at 16 of the 64 positions, stored in the test resources with the
 * command that made them ({@code reference/iq4_nl/}).
 */
class Iq4NlReferenceTest {
    @TempDir
    Path dir;

    @Test
    void iq4NlMatchesLlamaCpp() throws Exception {
        JsonNode ref = new ObjectMapper().readTree(resource("random-llama-quant-iq4_nl.json"));
        Path file = dir.resolve("iq4_nl.gguf");
        Iq4NlFile.write(SharedData.model("random/random-llama-quant-iq4_xs.gguf"), file);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        assertThat(sha).as("the model llama.cpp was run on").isEqualTo(ref.get("model_sha256").asText());
        int[] tokens = new int[ref.get("tokens").size()];
        for (int i = 0; i < tokens.length; i++) tokens[i] = ref.get("tokens").get(i).asInt();
        int vocab = ref.get("shape").get(1).asInt();
        byte[] raw = resource("random-llama-quant-iq4_nl.logits.f32").readAllBytes();
        float[] expected = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(expected);
        try (Model m = Model.open(file)) {
            float[] all = ModelRunner.allLogits(m, tokens, new int[]{tokens.length}, 16, 2);
            float[] ours = new float[expected.length];
            JsonNode positions = ref.get("positions");
            for (int k = 0; k < positions.size(); k++) {
                System.arraycopy(all, positions.get(k).asInt() * vocab, ours, k * vocab, vocab);
            }
            double kl = ReferenceLogitsTest.meanKl(expected, ours, vocab);
            System.out.printf("random-llama-quant-iq4_nl: mean KL %.3g, max |Δ| %.4f%n", kl, ReferenceLogitsTest.maxAbsDiff(ours, expected));
            assertThat(kl).as("mean KL(llama.cpp || ours)").isLessThanOrEqualTo(2e-3);
            assertThat(ReferenceLogitsTest.maxAbsDiff(ours, expected)).as("max |Δlogit|").isLessThanOrEqualTo(0.5);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = Iq4NlReferenceTest.class.getResourceAsStream("/reference/iq4_nl/" + name);
        assertThat(in).as(name).isNotNull();
        return in;
    }
}
