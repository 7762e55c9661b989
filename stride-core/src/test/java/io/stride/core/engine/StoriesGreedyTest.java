package io.stride.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Greedy generations of stories260K equal llama.cpp's. */
class StoriesGreedyTest {
    @Test
    void reproducesLlamaCppGreedyOutputs() throws Exception {
        JsonNode ref = new ObjectMapper().readTree(SharedData.require("reference/stories260K/greedy.json").toFile());
        try (Model m = Model.open(SharedData.model("stories260K.gguf")); WorkerPool pool = new WorkerPool(2);
             InferenceEngine g = EngineBuilder.of(m, pool).maxSequences(1).prefixCaching(false).build()) {
            int n = 0;
            for (JsonNode c : ref.get("cases")) {
                String prompt = c.get("prompt").asText();
                int[] ids = m.tokenizer().encode(prompt);
                StringBuilder streamed = new StringBuilder();
                GenerationResult r = g.generate(ids, GenerationParams.greedy(c.get("n_predict").asInt()), null, streamed::append);
                assertThat(streamed.toString()).isEqualTo(r.text());
                assertThat((prompt + r.text()).strip()).isEqualTo(c.get("output_stripped").asText());
                n++;
            }
            assertThat(n).isEqualTo(3);
        }
    }
}
