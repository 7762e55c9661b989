package io.stride.server;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The official anthropic-java SDK, unmodified, against /v1/messages. */
class AnthropicMessagesTest {
    static TestServer s;
    static AnthropicClient client;

    @BeforeAll
    static void start() {
        s = TestServer.builder().apiKey("sk-test").start();
        client = AnthropicOkHttpClient.builder().baseUrl(s.url()).apiKey("sk-test").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    static MessageCreateParams.Builder params(String user, long maxTokens) {
        // this SDK version has no temperature setter: greedy decoding through the raw body field the API documents
        return MessageCreateParams.builder().model("javatiny").maxTokens(maxTokens).system("You write Java.").addUserMessage(user)
                .putAdditionalBodyProperty("temperature", JsonValue.from(0));
    }

    @Test
    void messageAndStreamAgree() {
        Message m = client.messages().create(params("public class Greeter {", 24).build());
        assertThat(m._role().toString()).contains("assistant");
        String text = m.content().getFirst().text().orElseThrow().text();
        assertThat(m.stopReason()).isPresent();
        assertThat(m.stopReason().get()).isIn(StopReason.END_TURN, StopReason.MAX_TOKENS);
        assertThat(m.usage().inputTokens()).isPositive();
        assertThat(m.usage().outputTokens()).isBetween(1L, 24L);

        MessageAccumulator acc = MessageAccumulator.create();
        List<String> types = new ArrayList<>();
        try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params("public class Greeter {", 24).build())) {
            stream.stream().forEach(e -> {
                acc.accumulate(e);
                types.add(e.isMessageStart() ? "message_start" : e.isContentBlockStart() ? "content_block_start"
                        : e.isContentBlockDelta() ? "content_block_delta" : e.isContentBlockStop() ? "content_block_stop"
                        : e.isMessageDelta() ? "message_delta" : e.isMessageStop() ? "message_stop" : "other");
            });
        }
        Message streamed = acc.message();
        assertThat(streamed.content().getFirst().text().orElseThrow().text()).isEqualTo(text);
        assertThat(streamed.stopReason()).isEqualTo(m.stopReason());
        assertThat(streamed.usage().outputTokens()).isEqualTo(m.usage().outputTokens());
        assertThat(types.getFirst()).isEqualTo("message_start");
        assertThat(types.getLast()).isEqualTo("message_stop");
        assertThat(types).contains("content_block_delta");
    }

    @Test
    void stopSequencesAreReported() {
        Message m = client.messages().create(params("public class Greeter {", 64).stopSequences(List.of("(")).build());
        if (m.stopReason().orElseThrow() == StopReason.STOP_SEQUENCE) {
            assertThat(m.stopSequence()).contains("(");
            assertThat(m.content().getFirst().text().orElseThrow().text()).doesNotContain("(");
        }
        Message greedy = client.messages().create(params("public class Greeter {", 64).build());
        String full = greedy.content().getFirst().text().orElseThrow().text();
        if (full.contains("(")) {
            assertThat(m.stopReason()).contains(StopReason.STOP_SEQUENCE);
            assertThat(m.content().getFirst().text().orElseThrow().text()).isEqualTo(full.substring(0, full.indexOf('(')));
        }
    }

    @Test
    void unsupportedFieldsAreNamedInAnthropicErrors() throws Exception {
        HttpResponse<String> tools = post(Map.of("model", "javatiny", "max_tokens", 8, "messages", List.of(Map.of("role", "user",
                "content", "hi")), "tools", List.of(Map.of("name", "f"))));
        assertThat(tools.statusCode()).isEqualTo(400);
        JsonNode e = TestServer.JSON.readTree(tools.body());
        assertThat(e.get("type").asText()).isEqualTo("error");
        assertThat(e.at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.at("/error/message").asText()).contains("tools");
        HttpResponse<String> image = post(Map.of("model", "javatiny", "max_tokens", 8, "messages", List.of(Map.of("role", "user",
                "content", List.of(Map.of("type", "image", "source", Map.of()))))));
        assertThat(image.statusCode()).isEqualTo(400);
        assertThat(image.body()).contains("image");
        HttpResponse<String> noMax = post(Map.of("model", "javatiny", "messages", List.of(Map.of("role", "user", "content", "hi"))));
        assertThat(noMax.body()).contains("max_tokens");
        HttpResponse<String> unauth = s.post("/v1/messages", Map.of("model", "javatiny", "max_tokens", 8));
        assertThat(unauth.statusCode()).isEqualTo(401);
        assertThat(TestServer.JSON.readTree(unauth.body()).at("/error/type").asText()).isEqualTo("authentication_error");
    }

    static HttpResponse<String> post(Object body) throws Exception {
        return s.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.url() + "/v1/messages"))
                .header("x-api-key", "sk-test").header("anthropic-version", "2023-06-01").header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(TestServer.JSON.writeValueAsBytes(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
