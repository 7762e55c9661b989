package io.stride.core.diffusion;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.gguf.GgmlType;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.ModelQuantizer;
import io.stride.core.tools.QuantTarget;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The diffusion decoder against llama.cpp's llama-diffusion-cli: the same prompts, schedules, remasking rules and
 * seeds give the same answer tokens, every one (resources/diffusion/README.md says how the reference was made).
 * Both run the F32 conversion of javatiny-dllm-26m with llama.cpp's flash attention off: there the two engines' logits
 * agree to about 1e-6, so a seeded draw lands on the same token; with F16 weights llama.cpp rounds activations to F16
 * and its flash attention rounds keys and values to F16 (logits differ by up to 0.02), and a draw near a boundary can
 * go either way.
 */
class DiffusionReferenceTest {
    private static Path dir;
    private static WorkerPool pool;
    private static Model model;
    private static DiffusionDecoder decoder;

    @BeforeAll
    static void load() throws Exception {
        Path f16 = SharedData.model("javatiny-dllm-26m-f16.gguf");
        dir = Files.createTempDirectory("stride-dllm");
        pool = new WorkerPool(2);
        Path f32 = dir.resolve("javatiny-dllm-26m-f32.gguf");
        ModelQuantizer.quantize(f16, f32, QuantTarget.F32, pool, (name, from, to) -> { });
        model = Model.open(f32);
        decoder = new DiffusionDecoder(model, pool, 256);
    }

    @AfterAll
    static void close() throws Exception {
        if (model != null) model.close();
        if (pool != null) pool.close();
        if (dir != null) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.toList()) Files.delete(p);
            }
            Files.delete(dir);
        }
    }

    static Stream<Arguments> cases() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<Arguments> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                DiffusionReferenceTest.class.getResourceAsStream("/diffusion/reference.jsonl"), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                JsonNode c = json.readTree(line);
                out.add(Arguments.of(c.get("name").asText(), c));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void answersAsLlamaCpp(String name, JsonNode c) {
        int[] prompt = model.tokenizer().encode(c.get("prompt").asText(), true, true);
        int ub = c.get("ub").asInt();
        DiffusionParams p = new DiffusionParams(ub - prompt.length, c.get("steps").asInt(), c.get("block_length").asInt(),
                (float) c.get("eps").asDouble(), Remasking.ofNumber(c.get("algorithm").asInt(), "algorithm"),
                (float) c.get("temp").asDouble(), c.get("top_k").asInt(), (float) c.get("top_p").asDouble(),
                c.get("seed").asLong(), 0, 0, 0, 0, false, null);
        int[] expected = new int[c.get("answer_ids").size()];
        for (int i = 0; i < expected.length; i++) expected[i] = c.get("answer_ids").get(i).asInt();

        DiffusionResult r = decoder.generate(prompt, p, null);

        assertThat(r.generated()).as("answer tokens of %s (prompt %d tokens)", name, prompt.length).containsExactly(expected);
        assertThat(r.forwardPasses()).isEqualTo(r.steps());
    }
}
