package io.stride.core.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.Generator;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.tensor.WorkerPool;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Greedy speculative decoding with prompt lookup generates exactly what plain greedy decoding does. */
class SpeculativeLosslessTest {
    @Test
    void ngramSpeculationIsLossless() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(SharedData.require("workloads/java-dev.jsonl"))) {
            if (!line.isBlank()) rows.add(json.readTree(line));
        }
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            Transformer tf = new Transformer(m, pool);
            Generator plain = new Generator(m, tf, tf.newCache(16, 160), 2048);
            SpeculativeGenerator spec = new SpeculativeGenerator(m, tf, tf.newCache(16, 161), 2048, new NgramDrafter(1, 4), 8, true);
            long accepted = 0;
            int n = 0;
            for (int i = 0; i < rows.size(); i += 7) {
                String prompt = rows.get(i).get("prompt").asText();
                prompt = prompt.substring(Math.max(0, prompt.length() - 1500));
                int[] ids = m.tokenizer().encode(prompt);
                GenerationResult a = plain.generate(ids, GenerationParams.greedy(40), t -> { });
                GenerationResult b = spec.generate(ids, GenerationParams.greedy(40), t -> { });
                assertThat(b.tokens()).as("row %d", i).isEqualTo(a.tokens());
                assertThat(b.text()).isEqualTo(a.text());
                assertThat(b.finishReason()).isEqualTo(a.finishReason());
                assertThat(spec.lastStats().steps()).isLessThanOrEqualTo(a.tokens().length);
                accepted += spec.lastStats().accepted();
                n++;
            }
            assertThat(n).isGreaterThan(10);
            assertThat(accepted).as("drafts were accepted").isPositive();
        }
    }

    @Test
    void ngramDrafterProposesWhatFollowedTheLatestMatch() {
        NgramDrafter d = new NgramDrafter(1, 3);
        int[] ctx = {5, 6, 7, 8, 9, 5, 6, 7, 1, 2, 5, 6, 7};
        int[] out = new int[4];
        int k = d.propose(ctx, ctx.length, 4, out);
        assertThat(k).isEqualTo(4);
        assertThat(out).containsExactly(1, 2, 5, 6);
        assertThat(d.propose(new int[]{1, 2, 3}, 3, 4, out)).isZero();
    }
}
