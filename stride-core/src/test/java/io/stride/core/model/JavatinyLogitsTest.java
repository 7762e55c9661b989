package io.stride.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/** javatiny 26m / 3m against the PyTorch training code: top-8 log-probs within 0.03, same top-1 everywhere. */
class JavatinyLogitsTest {
    @ParameterizedTest
    @CsvSource({"target, javatiny-26m-f16.gguf", "draft, javatiny-3m-f16.gguf"})
    void matchesPyTorch(String key, String file) throws IOException {
        JsonNode ref = new ObjectMapper().readTree(SharedData.require("reference/javatiny/logits.json").toFile()).get(key);
        try (Model m = Model.open(SharedData.model(file))) {
            int vocab = m.config().vocab();
            int cases = 0;
            double worst = 0;
            for (JsonNode c : ref.get("cases")) {
                int[] tokens = new int[c.get("tokens").size()];
                for (int i = 0; i < tokens.length; i++) tokens[i] = c.get("tokens").get(i).asInt();
                float[] logits = ModelRunner.allLogits(m, tokens, new int[]{128}, 16, 2);
                JsonNode topIds = c.get("top_ids");
                JsonNode topLp = c.get("top_logprobs");
                assertThat(topIds.size()).isEqualTo(tokens.length);
                for (int p = 0; p < tokens.length; p++) {
                    double[] lp = ReferenceLogitsTest.logSoftmax(logits, p * vocab, vocab);
                    int best = 0;
                    for (int i = 1; i < vocab; i++) if (lp[i] > lp[best]) best = i;
                    assertThat(best).as("top-1 at position %d of case %d", p, cases).isEqualTo(topIds.get(p).get(0).asInt());
                    for (int j = 0; j < topIds.get(p).size(); j++) {
                        double d = Math.abs(lp[topIds.get(p).get(j).asInt()] - topLp.get(p).get(j).asDouble());
                        worst = Math.max(worst, d);
                    }
                }
                JsonNode last = c.get("last_logits");
                int lastRow = (tokens.length - 1) * vocab;
                for (int i = 0; i < vocab; i++) {
                    assertThat((double) logits[lastRow + i]).isCloseTo(last.get(i).asDouble(), org.assertj.core.data.Offset.offset(0.05));
                }
                cases++;
            }
            System.out.printf("%s: %d cases, worst top-8 |Δ logprob| %.4f%n", file, cases, worst);
            assertThat(worst).isLessThanOrEqualTo(0.03);
            assertThat(cases).isPositive();
        }
    }
}
