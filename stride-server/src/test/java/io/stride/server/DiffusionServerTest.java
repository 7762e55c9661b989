package io.stride.server;

import io.stride.core.diffusion.DiffusionDecoder;
import io.stride.core.diffusion.DiffusionOptions;
import io.stride.core.diffusion.DiffusionResult;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A diffusion model behind the OpenAI routes: the completion is the decoder's answer (streamed block by block or
 * whole, the same text), requests queue one after another, and what does not apply to unmasking is a 400 naming the field.
 */
class DiffusionServerTest {
    static final String PROMPT = "    public int size() {\n        return";

    @Test
    void servesTheDecodersAnswerWholeAndStreamedAndRefusesWhatDoesNotApply() throws Exception {
        try (TestServer s = TestServer.builder().modelFile("javatiny-dllm-26m-f16.gguf").ctx(256).start()) {
            int[] ids = s.model.tokenizer().encode(PROMPT, true, true);
            DiffusionResult direct = new DiffusionDecoder(s.model, s.pool, 256)
                    .generate(ids, DiffusionOptions.BASELINE.params(40, 0, 0, 1, 0), null);
            String expected = s.model.tokenizer().decode(direct.answer());

            Map<String, Object> body = new HashMap<>(Map.of("prompt", PROMPT, "max_tokens", 40, "temperature", 0));
            HttpResponse<String> whole = s.post("/v1/completions", body);
            assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
            var json = TestServer.JSON.readTree(whole.body());
            assertThat(json.at("/choices/0/text").asText()).isEqualTo(expected);
            assertThat(json.at("/choices/0/finish_reason").asText()).isEqualTo(direct.stopped() ? "stop" : "length");
            assertThat(json.at("/usage/completion_tokens").asInt()).isEqualTo(direct.answer().length);

            body.put("stream", true);
            TestServer.Streamed streamed = s.stream(body);
            assertThat(streamed.text()).isEqualTo(expected);

            Map<String, Object> two = new HashMap<>(Map.of("prompt", PROMPT, "max_tokens", 16, "temperature", 0.8, "seed", 5, "n", 2));
            HttpResponse<String> n2 = s.post("/v1/completions", two);
            assertThat(n2.statusCode()).as(n2.body()).isEqualTo(200);
            assertThat(TestServer.JSON.readTree(n2.body()).get("choices")).hasSize(2);

            for (var bad : List.of(Map.of("logprobs", 2), Map.of("min_p", 0.1), Map.of("logit_bias", Map.of("5", 1)),
                    Map.of("frequency_penalty", 0.5), Map.of("sparse_attention", "tidal"))) {
                Map<String, Object> b = new HashMap<>(Map.of("prompt", PROMPT, "max_tokens", 8));
                b.putAll(bad);
                HttpResponse<String> r = s.post("/v1/completions", b);
                String field = bad.keySet().iterator().next();
                assertThat(r.statusCode()).as(field).isEqualTo(400);
                assertThat(TestServer.JSON.readTree(r.body()).at("/error/param").asText()).as(r.body()).isEqualTo(field);
                assertThat(r.body()).contains("diffusion model");
            }
            HttpResponse<String> emb = s.post("/v1/embeddings", Map.of("input", "class A"));
            assertThat(emb.statusCode()).as(emb.body()).isEqualTo(400);
            assertThat(s.engine.runningCount()).isZero();
        }
    }
}
