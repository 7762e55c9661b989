package io.stride.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The official OpenAI Java SDK, unmodified, against the server on loopback. */
class OpenAiClientTest {
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.builder().start();
        client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    private static ChatCompletionCreateParams.Builder chat(String user, long maxTokens) {
        return ChatCompletionCreateParams.builder().model("javatiny").addUserMessage(user).maxCompletionTokens(maxTokens).temperature(0.0);
    }

    @Test
    void listsTheModel() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly("javatiny");
    }

    @Test
    void chatCompletionAndUsage() {
        ChatCompletion c = client.chat().completions().create(chat("public class Foo {", 12).build());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().get(0).message().content()).isPresent();
        assertThat(c.choices().get(0).finishReason()).isIn(ChatCompletion.Choice.FinishReason.LENGTH, ChatCompletion.Choice.FinishReason.STOP);
        assertThat(c.usage()).isPresent();
        assertThat(c.usage().get().promptTokens()).isPositive();
        assertThat(c.usage().get().completionTokens()).isBetween(1L, 12L);
        assertThat(c.usage().get().totalTokens()).isEqualTo(c.usage().get().promptTokens() + c.usage().get().completionTokens());
    }

    @Test
    void chatStreamingEqualsNonStreaming() {
        ChatCompletionCreateParams p = chat("import java.util.List;\n", 20).build();
        String whole = client.chat().completions().create(p).choices().get(0).message().content().orElseThrow();
        StringBuilder streamed = new StringBuilder();
        long[] usage = {-1};
        ChatCompletionCreateParams ps = chat("import java.util.List;\n", 20)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(ps)) {
            s.stream().forEach(chunk -> {
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertThat(streamed.toString()).isEqualTo(whole);
        assertThat(usage[0]).isPositive();
    }

    @Test
    void completionStreamingAndNot() {
        CompletionCreateParams p = CompletionCreateParams.builder().model("javatiny").prompt("public static void main(String[] args) {")
                .maxTokens(24).temperature(0.0).build();
        Completion c = client.completions().create(p);
        String whole = c.choices().get(0).text();
        assertThat(whole).isNotEmpty();
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(p)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertThat(streamed.toString()).isEqualTo(whole);
    }

    @Test
    void stopStringsAreNotEmitted() {
        CompletionCreateParams p = CompletionCreateParams.builder().model("javatiny").prompt("package java.util;\n\nimport java.io.Serializable;\n")
                .maxTokens(40).temperature(0.0).build();
        String free = client.completions().create(p).choices().get(0).text();
        assertThat(free.length()).isGreaterThan(4);
        String stop = free.substring(free.length() / 2, free.length() / 2 + 2);
        int at = free.indexOf(stop);
        Completion c = client.completions().create(p.toBuilder().stop(stop).build());
        assertThat(c.choices().get(0).text()).isEqualTo(free.substring(0, at)).doesNotContain(stop);
        assertThat(c.choices().get(0).finishReason().toString()).isEqualTo("stop");
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(p.toBuilder().stop(stop).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertThat(streamed.toString()).isEqualTo(free.substring(0, at));
    }

    @Test
    void chatLogprobs() {
        ChatCompletion c = client.chat().completions().create(chat("int x = ", 5).logprobs(true).topLogprobs(3L).build());
        var lp = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertThat(lp).hasSize((int) c.usage().orElseThrow().completionTokens());
        for (var t : lp) {
            assertThat(t.logprob()).isLessThanOrEqualTo(0.0);
            assertThat(t.topLogprobs()).hasSize(3);
            // greedy: the chosen token is the most likely one
            assertThat(t.topLogprobs().get(0).logprob()).isEqualTo(t.logprob());
        }
    }

    @Test
    void completionLogprobs() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("javatiny").prompt("for (int i = 0;")
                .maxTokens(4).temperature(0.0).logprobs(2L).build());
        var lp = c.choices().get(0).logprobs().orElseThrow();
        assertThat(lp.tokens().orElseThrow()).hasSize(4);
        assertThat(lp.tokenLogprobs().orElseThrow()).allMatch(v -> v <= 0);
        assertThat(String.join("", lp.tokens().orElseThrow())).isEqualTo(c.choices().get(0).text());
    }

    @Test
    void severalChoices() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("javatiny").prompt("class A {")
                .maxTokens(6).temperature(0.9).seed(7L).n(3L).build());
        assertThat(c.choices()).hasSize(3);
        assertThat(c.choices()).extracting(ch -> ch.index()).containsExactlyInAnyOrder(0L, 1L, 2L);
        assertThat(c.usage().orElseThrow().completionTokens()).isBetween(3L, 18L);
    }

    @Test
    void wrongModelIsNotFound() {
        var e = org.assertj.core.api.Assertions.catchThrowable(() -> client.completions().create(
                CompletionCreateParams.builder().model("gpt-17").prompt("x").maxTokens(1).build()));
        assertThat(e).isInstanceOf(com.openai.errors.NotFoundException.class);
    }
}
