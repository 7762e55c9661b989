package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** What clients of OpenAI, llama-server and vLLM reach for: models.retrieve, prompt lists, CORS, cached_tokens, tokenize, embeddings. */
class CompatibilityTest {
    static TestServer s;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        s = TestServer.builder().start();
        client = OpenAIOkHttpClient.builder().baseUrl(s.url() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    @Test
    void retrievesTheModelByName() throws Exception {
        Model m = client.models().retrieve("javatiny");
        assertThat(m.id()).isEqualTo("javatiny");
        HttpResponse<String> missing = s.get("/v1/models/gpt-9");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(TestServer.JSON.readTree(missing.body()).at("/error/code").asText()).isEqualTo("model_not_found");
    }

    @Test
    void aListOfPromptsGetsChoicesPerPrompt() {
        List<String> prompts = List.of("public class A {", "import java.io.");
        Completion c = client.completions().create(CompletionCreateParams.builder().model("javatiny")
                .prompt(CompletionCreateParams.Prompt.ofArrayOfStrings(prompts)).maxTokens(6).temperature(0.0).n(2).build());
        assertThat(c.choices()).hasSize(4);
        assertThat(c.choices()).extracting(ch -> ch.index()).containsExactly(0L, 1L, 2L, 3L);
        for (int p = 0; p < 2; p++) {
            Completion alone = client.completions().create(CompletionCreateParams.builder().model("javatiny")
                    .prompt(prompts.get(p)).maxTokens(6).temperature(0.0).build());
            assertThat(c.choices().get(2 * p).text()).isEqualTo(alone.choices().get(0).text());
            assertThat(c.choices().get(2 * p + 1).text()).isEqualTo(alone.choices().get(0).text());
        }
        long promptTokens = 0;
        for (String p : prompts) {
            promptTokens += client.completions().create(CompletionCreateParams.builder().model("javatiny").prompt(p).maxTokens(1)
                    .build()).usage().orElseThrow().promptTokens();
        }
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(promptTokens);
    }

    @Test
    void cachedPromptTokensAreReported() {
        String prompt = "import java.util.*;\n\npublic final class Cache {\n    private final Map<String, Integer> counts = new HashMap<>();\n".repeat(4);
        CompletionCreateParams p = CompletionCreateParams.builder().model("javatiny").prompt(prompt).maxTokens(2).temperature(0.0).build();
        client.completions().create(p);
        Completion second = client.completions().create(p);
        long cached = second.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
        assertThat(cached).isGreaterThanOrEqualTo(16).isLessThan(second.usage().orElseThrow().promptTokens());
    }

    @Test
    void corsPreflightAndHeaders() throws Exception {
        try (TestServer secured = TestServer.builder().apiKey("k").start()) {
            HttpResponse<String> pre = secured.http.send(HttpRequest.newBuilder(URI.create(secured.url() + "/v1/chat/completions"))
                    .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://localhost:3000")
                    .header("Access-Control-Request-Method", "POST")
                    .header("Access-Control-Request-Headers", "authorization, content-type").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(pre.statusCode()).isBetween(200, 204);
            assertThat(pre.headers().firstValue("Access-Control-Allow-Origin")).isPresent();
            assertThat(pre.headers().firstValue("Access-Control-Allow-Headers").orElse("").toLowerCase()).contains("authorization");
            HttpResponse<String> get = secured.http.send(secured.authorized(HttpRequest.newBuilder(URI.create(secured.url() + "/v1/models")))
                    .header("Origin", "http://localhost:3000").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.headers().firstValue("Access-Control-Allow-Origin")).isPresent();
        }
    }

    @Test
    void oversizedMaxTokensNamesTheValueSent() throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 99999));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("99999");
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() throws Exception {
        String text = "public static void main(String[] args) { System.out.println(\"héllo\"); }";
        JsonNode t = TestServer.JSON.readTree(s.post("/tokenize", Map.of("content", text, "add_special", true)).body());
        List<Integer> ids = new ArrayList<>();
        t.get("tokens").forEach(n -> ids.add(n.asInt()));
        assertThat(ids).containsExactly(java.util.Arrays.stream(s.model.tokenizer().encode(text, true, true)).boxed().toArray(Integer[]::new));
        assertThat(t.get("count").asInt()).isEqualTo(ids.size());
        JsonNode d = TestServer.JSON.readTree(s.post("/detokenize", Map.of("tokens", ids)).body());
        assertThat(d.get("content").asText()).isEqualTo(text);
        JsonNode vllm = TestServer.JSON.readTree(s.post("/tokenize", Map.of("prompt", text)).body());
        assertThat(vllm.get("tokens")).isEqualTo(t.get("tokens"));
        JsonNode pieces = TestServer.JSON.readTree(s.post("/tokenize", Map.of("content", "int x", "with_pieces", true)).body());
        assertThat(pieces.at("/tokens/0/piece").isTextual()).isTrue();
        assertThat(s.post("/detokenize", Map.of("tokens", List.of(1, 999999))).statusCode()).isEqualTo(400);
        assertThat(s.post("/tokenize", Map.of("nothing", 1)).statusCode()).isEqualTo(400);
    }

    @Test
    void embeddingsAreDeterministicNormalisedAndBatchInvariant() throws Exception {
        List<String> texts = List.of("public class A {}", "int add(int a, int b) { return a + b; }", "// a comment",
                "import java.util.List;", "x");
        CreateEmbeddingResponse together = client.embeddings().create(EmbeddingCreateParams.builder().model("javatiny")
                .input(EmbeddingCreateParams.Input.ofArrayOfStrings(texts)).build());
        assertThat(together.data()).hasSize(texts.size());
        assertThat(together.usage().promptTokens()).isPositive();
        // alone, and alone again while generations run beside it: the same bits
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<HttpResponse<String>>> noise = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            noise.add(ex.submit(() -> s.post("/v1/completions", Map.of("prompt", "class Noise {", "max_tokens", 40, "temperature", 0.7,
                    "seed", 5))));
        }
        for (int i = 0; i < texts.size(); i++) {
            List<Double> a = together.data().get(i).embedding().stream().map(Float::doubleValue).toList();
            for (int rep = 0; rep < 2; rep++) {
                CreateEmbeddingResponse alone = client.embeddings().create(EmbeddingCreateParams.builder().model("javatiny")
                        .input(texts.get(i)).build());
                List<Double> b = alone.data().get(0).embedding().stream().map(Float::doubleValue).toList();
                assertThat(b).isEqualTo(a);
            }
            double norm = Math.sqrt(a.stream().mapToDouble(x -> x * x).sum());
            assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            assertThat(a).hasSize(s.model.config().dim());
        }
        for (Future<HttpResponse<String>> f : noise) assertThat(f.get().statusCode()).isEqualTo(200);
        ex.close();
        List<Double> e0 = together.data().get(0).embedding().stream().map(Float::doubleValue).toList();
        List<Double> e1 = together.data().get(1).embedding().stream().map(Float::doubleValue).toList();
        assertThat(e0).isNotEqualTo(e1);
        JsonNode b64 = TestServer.JSON.readTree(s.post("/v1/embeddings", Map.of("input", "x", "encoding_format", "base64")).body());
        assertThat(java.util.Base64.getDecoder().decode(b64.at("/data/0/embedding").asText())).hasSize(4 * s.model.config().dim());
        assertThat(s.post("/v1/embeddings", Map.of("input", "x", "dimensions", 3)).body()).contains("dimensions");
        assertThat(s.post("/v1/embeddings", Map.of("input", List.of())).statusCode()).isEqualTo(400);
        AdmissionTest.assertIdle(s);
    }

    @Test
    void chatWithoutATemplateStopsAtTheFallbacksEndMarker() throws Exception {
        assertThat(s.server.chatTemplate().isBuiltin()).isTrue();
        for (String user : List.of("hello", "public class A {", "write a loop")) {
            HttpResponse<String> r = s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", user)),
                    "max_tokens", 80, "temperature", 0));
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(TestServer.JSON.readTree(r.body()).at("/choices/0/message/content").asText()).doesNotContain("<|im_end|>");
        }
    }
}
