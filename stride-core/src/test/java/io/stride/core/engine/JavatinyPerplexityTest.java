package io.stride.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Perplexity at --ctx 1024 on the text reference/javatiny/perplexity.json defines, within 0.5% of llama.cpp's. */
@Tag("slow")
class JavatinyPerplexityTest {
    static String perplexityText() throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> prompts = new ArrayList<>();
        for (String line : Files.readAllLines(SharedData.require("workloads/java-dev.jsonl"))) {
            if (line.isBlank()) continue;
            JsonNode row = json.readTree(line);
            if (row.get("kind").asText().equals("complete")) prompts.add(row.get("prompt").asText());
        }
        return String.join("\n\n", prompts);
    }

    @ParameterizedTest
    @ValueSource(strings = {"javatiny-26m-f16", "javatiny-3m-f16"})
    void matchesReference(String name) throws IOException {
        JsonNode ref = new ObjectMapper().readTree(SharedData.require("reference/javatiny/perplexity.json").toFile());
        try (Model m = Model.open(SharedData.model(name + ".gguf")); WorkerPool pool = new WorkerPool(2)) {
            int[] ids = m.tokenizer().encode(perplexityText());
            assertThat(ids.length).isEqualTo(ref.get("tokens").asInt());
            Transformer tf = new Transformer(m, pool);
            PerplexityEvaluator.Result r = new PerplexityEvaluator(tf, tf.newCache(16, 1024 / 16), 256).evaluate(ids, 1024);
            assertThat(r.windows()).isEqualTo(ref.get("windows").asInt());
            assertThat(r.scored()).isEqualTo(ref.get("scored").asLong());
            double expected = ref.get(name).get("ppl").asDouble();
            System.out.printf("%s: ppl %.4f (reference %.4f)%n", name, r.perplexity(), expected);
            assertThat(r.perplexity()).isCloseTo(expected, org.assertj.core.data.Percentage.withPercentage(0.5));
        }
    }
}
