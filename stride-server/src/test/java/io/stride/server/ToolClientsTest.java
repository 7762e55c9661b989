package io.stride.server;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.StructuredChatCompletion;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.service.AiServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.stride.server.TestServer.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The clients Java applications call tools with, against {@code stride serve} (javatiny): the official openai-java
 * SDK (a forced tool call, its result sent back, a final answer; structured output into a Java class) and a
 * LangChain4j {@code AiServices} assistant whose {@code @Tool} method the model calls.
 */
class ToolClientsTest {
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

    static ChatCompletionFunctionTool addTool() {
        return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("add").description("Adds two integers")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                "a", Map.of("type", "integer", "minimum", 0, "maximum", 100),
                                "b", Map.of("type", "integer", "minimum", 0, "maximum", 100))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("a", "b")))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                        .build())
                .build()).build();
    }

    @Test
    void openAiSdkToolRoundTrip() throws Exception {
        ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder().model("javatiny").maxCompletionTokens(100)
                .addUserMessage("What is 2 + 3? Use the add function.")
                .addTool(addTool())
                .toolChoice(ChatCompletionNamedToolChoice.builder().function(ChatCompletionNamedToolChoice.Function.builder().name("add").build()).build());
        ChatCompletion first = client.chat().completions().create(b.build());
        assertThat(first.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        List<ChatCompletionMessageToolCall> calls = first.choices().getFirst().message().toolCalls().orElseThrow();
        assertThat(calls).hasSize(1);
        ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
        assertThat(call.function().name()).isEqualTo("add");
        var args = JSON.readTree(call.function().arguments());
        assertThat(args.get("a").isInt()).isTrue();
        assertThat(args.get("b").isInt()).isTrue();
        long sum = args.get("a").asLong() + args.get("b").asLong();

        b.addMessage(first.choices().getFirst().message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content(Long.toString(sum)).build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE);
        ChatCompletion second = client.chat().completions().create(b.build());
        assertThat(second.choices().getFirst().message().toolCalls().orElse(List.of())).isEmpty();
        assertThat(second.choices().getFirst().message().content()).isPresent();
        assertThat(second.usage().orElseThrow().promptTokens()).isGreaterThan(first.usage().orElseThrow().promptTokens());
    }

    /** What the SDK derives a JSON schema from. */
    public static class JavaClass {
        @JsonPropertyDescription("the class name")
        public String name;
        public boolean isPublic;
        public List<String> methods;
    }

    @Test
    void openAiSdkStructuredOutputIntoAJavaClass() {
        StructuredChatCompletion<JavaClass> r = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("javatiny").maxCompletionTokens(300).temperature(0.0).addUserMessage("Describe a Java class.")
                .responseFormat(JavaClass.class).build());
        JavaClass c = r.choices().getFirst().message().content().orElseThrow();
        assertThat(c.name).isNotNull();
        assertThat(c.methods).isNotNull();
    }

    /** A LangChain4j tool: LangChain4j derives its schema from the method and calls it with the model's arguments. */
    public static class Calculator {
        final List<String> calls = new ArrayList<>();

        @Tool("Adds two numbers")
        public long add(@P("first number") long a, @P("second number") long b) {
            calls.add(a + "+" + b);
            return a + b;
        }
    }

    interface Assistant {
        String chat(String message);
    }

    @Test
    void langChain4jAiServicesCallsATool() {
        ChatModel openAi = OpenAiChatModel.builder().baseUrl(s.url() + "/v1").apiKey("unused").modelName("javatiny")
                .maxTokens(120).temperature(0.0).parallelToolCalls(false).build();
        // a model never trained on tools calls one only when made to: required on the user's turn, none after the result
        ChatModel model = new ChatModel() {
            @Override
            public ChatResponse chat(ChatRequest r) {
                boolean userTurn = r.messages().getLast() instanceof UserMessage;
                ChatRequest forced = ChatRequest.builder().messages(r.messages())
                        .parameters(r.parameters().overrideWith(dev.langchain4j.model.chat.request.ChatRequestParameters.builder()
                                .toolChoice(userTurn ? ToolChoice.REQUIRED : ToolChoice.NONE).build()))
                        .build();
                return openAi.chat(forced);
            }
        };
        Calculator calc = new Calculator();
        Assistant a = AiServices.builder(Assistant.class).chatModel(model).tools(calc).build();
        String answer = a.chat("What is 2 + 3?");
        assertThat(calc.calls).hasSize(1);
        assertThat(calc.calls.getFirst()).matches("[0-9]+\\+[0-9]+");
        assertThat(answer).isNotNull();
    }
}
