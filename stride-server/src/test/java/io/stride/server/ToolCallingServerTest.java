package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Schema;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.ChatTemplates;
import io.stride.core.tools.Progress;
import io.stride.core.tools.QuantTarget;
import io.stride.core.tools.SynthPreset;
import io.stride.core.tools.SyntheticModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.stride.server.ErrorHandlingTest.assertError;
import static io.stride.server.TestServer.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool calling through /v1/chat/completions on models whose GGUF holds a published template (random-weight
 * synth models with the Qwen 2.5, Mistral Nemo and Llama 3.2 templates: one per call format) and on javatiny,
 * which has none (tools then described in the system message, Hermes format). With tool_choice required or a
 * named function every answer is calls whose arguments validate against the tool's schema, streamed or not.
 */
class ToolCallingServerTest {
    @TempDir
    static Path dir;
    static final Map<String, TestServer> servers = new TreeMap<>();

    /**
     * Two tools whose answers are bounded (enums, integers, short strings), so forced calls finish in max_tokens. Parsed
     * from text so that property order (which the grammar follows) is fixed; Map.of's order changes from run to run.
     */
    static final List<Object> TOOLS = parse("""
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]}}},
             {"type": "function", "function": {"name": "add", "description": "Adds integers",
              "parameters": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 1000},
                "b": {"type": "integer", "minimum": 0, "maximum": 1000}, "opts": {"$ref": "#/$defs/opts"}},
                "required": ["a", "b", "opts"],
                "$defs": {"opts": {"type": "object", "properties": {"round": {"type": "boolean"}}, "required": ["round"]}}}}}]
            """);

    private static List<Object> parse(String json) {
        try {
            return JSON.readValue(json, new com.fasterxml.jackson.core.type.TypeReference<List<Object>>() {});
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        // test-tiny-qwen2's shapes with room for the templates' tool descriptions
        SynthPreset p = new SynthPreset("test-tools", "qwen2", 128, 2, 4, 2, 256, 2048, true, true, 4096, 1000000, "gpt2", "qwen2");
        try (WorkerPool pool = new WorkerPool(2)) {
            for (String t : List.of("qwen-2.5", "mistral-nemo", "llama-3.2")) {
                Path f = dir.resolve(t + ".gguf");
                SyntheticModel.write(p, QuantTarget.parse("F32"), f, 7, pool, Progress.NONE, ChatTemplates.get(t));
                servers.put(t, TestServer.builder().modelPath(f).ctx(4096).start());
            }
        }
        servers.put("javatiny", TestServer.builder().start());
    }

    @AfterAll
    static void stop() {
        servers.values().forEach(TestServer::close);
    }

    static Map<String, Object> request(Object toolChoice, boolean stream, Map<String, Object> extra) {
        Map<String, Object> b = new LinkedHashMap<>(extra);
        b.putIfAbsent("messages", List.of(Map.of("role", "user", "content", "What is the weather in Oslo, and what is 2 + 3?")));
        b.put("tools", TOOLS);
        if (toolChoice != null) b.put("tool_choice", toolChoice);
        b.put("max_tokens", 200);
        b.put("stream", stream);
        return b;
    }

    /** The answer's message: content and tool calls, assembled from the stream when streamed. */
    record Answer(String content, List<JsonNode> calls, String finish) {}

    static Answer ask(TestServer s, Map<String, Object> body) throws Exception {
        if (!(Boolean) body.get("stream")) {
            HttpResponse<String> r = s.post("/v1/chat/completions", body);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode c = JSON.readTree(r.body()).get("choices").get(0);
            List<JsonNode> calls = new ArrayList<>();
            c.get("message").path("tool_calls").forEach(calls::add);
            return new Answer(c.get("message").get("content").isNull() ? null : c.get("message").get("content").asText(), calls,
                    c.get("finish_reason").asText());
        }
        var req = HttpRequest.newBuilder(URI.create(s.url() + "/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<java.util.stream.Stream<String>> r = s.http.send(req, HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder content = new StringBuilder();
        List<JsonNode> calls = new ArrayList<>();
        String finish = null;
        for (String line : (Iterable<String>) r.body()::iterator) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode c = JSON.readTree(line.substring(6)).path("choices").path(0);
            content.append(c.path("delta").path("content").asText(""));
            for (JsonNode t : c.path("delta").path("tool_calls")) {
                assertThat(t.get("index").asInt()).isEqualTo(calls.size());
                calls.add(t);
            }
            if (c.hasNonNull("finish_reason")) finish = c.get("finish_reason").asText();
        }
        return new Answer(content.isEmpty() ? null : content.toString(), calls, finish);
    }

    /** Each call names an offered tool and its arguments validate against that tool's parameters. */
    static void assertValidCalls(Answer a, String only) throws Exception {
        assertValidCalls(a, only, false);
    }

    /** As above; {@code mayRunOut}: the answer may also end at max_tokens (with the calls made by then). */
    static void assertValidCalls(Answer a, String only, boolean mayRunOut) throws Exception {
        if (mayRunOut) assertThat(a.finish()).as("%s", a).isIn("tool_calls", "length");
        else assertThat(a.finish()).as("%s", a).isEqualTo("tool_calls");
        assertThat(a.calls()).as("%s", a).isNotEmpty();
        for (JsonNode c : a.calls()) {
            assertThat(c.get("type").asText()).isEqualTo("function");
            assertThat(c.get("id").asText()).isNotBlank();
            String name = c.get("function").get("name").asText();
            if (only != null) assertThat(name).isEqualTo(only);
            JsonNode params = null;
            for (Object t : TOOLS) {
                JsonNode tool = JSON.valueToTree(t);
                if (tool.get("function").get("name").asText().equals(name)) params = tool.get("function").get("parameters");
            }
            assertThat(params).as("tool %s", name).isNotNull();
            Schema schema = StructuredOutputServerTest.validator(params);
            JsonNode args = JSON.readTree(c.get("function").get("arguments").asText());
            assertThat(schema.validate(args)).as("%s(%s)", name, args).isEmpty();
        }
    }

    @Test
    void requiredGivesValidCallsInEveryFormatStreamedOrNot() throws Exception {
        for (var e : servers.entrySet()) {
            for (boolean stream : new boolean[] {false, true}) {
                Answer a = ask(e.getValue(), request("required", stream, Map.of("parallel_tool_calls", false)));
                assertValidCalls(a, null);
                assertThat(a.calls()).hasSize(1);
            }
        }
    }

    @Test
    void aNamedFunctionIsTheOneCalled() throws Exception {
        Map<String, Object> named = Map.of("type", "function", "function", Map.of("name", "add"));
        for (var e : servers.entrySet()) {
            Answer a = ask(e.getValue(), request(named, e.getKey().equals("qwen-2.5"), Map.of()));
            assertValidCalls(a, "add");
            assertThat(a.calls()).hasSize(1);
        }
    }

    @Test
    void sampledForcedCallsAreValidToo() throws Exception {
        TestServer s = servers.get("qwen-2.5");
        for (int seed = 0; seed < 4; seed++) {
            Answer a = ask(s, request("required", seed % 2 == 0, Map.of("temperature", 1.0, "seed", seed, "parallel_tool_calls", false)));
            assertValidCalls(a, null);
            assertThat(a.calls()).hasSize(1);
        }
    }

    /**
     * With parallel calls allowed the grammar may go on to another call after each; javatiny, never trained on
     * tools, often repeats its call until max_tokens, so the answer may end either way, every call valid.
     */
    @Test
    void parallelCalls() throws Exception {
        TestServer s = servers.get("javatiny");
        for (int seed = 0; seed < 3; seed++) {
            Answer a = ask(s, request("required", seed == 1, Map.of("temperature", seed == 0 ? 0.0 : 0.4, "seed", seed)));
            assertValidCalls(a, null, true);
        }
    }

    @Test
    void autoAndNoneAnswer() throws Exception {
        for (var e : servers.entrySet()) {
            Answer auto = ask(e.getValue(), request("auto", false, Map.of()));
            assertThat(auto.finish()).isIn("stop", "length", "tool_calls");
            Answer none = ask(e.getValue(), request("none", true, Map.of()));
            assertThat(none.calls()).isEmpty();
            assertThat(none.finish()).isIn("stop", "length");
        }
    }

    @Test
    void callsAndResultsGoBackIntoTheTemplate() throws Exception {
        for (var e : servers.entrySet()) {
            String id = e.getKey().equals("mistral-nemo") ? "a1b2c3d4e" : "call_1";
            List<Object> messages = List.of(
                    Map.of("role", "user", "content", "What is 2 + 3?"),
                    Map.of("role", "assistant", "content", "", "tool_calls", List.of(Map.of("id", id, "type", "function",
                            "function", Map.of("name", "add", "arguments", "{\"a\": 2, \"b\": 3, \"opts\": {\"round\": true}}")))),
                    Map.of("role", "tool", "tool_call_id", id, "content", "5"));
            Answer a = ask(e.getValue(), request("none", false, Map.of("messages", messages)));
            assertThat(a.finish()).as(e.getKey()).isIn("stop", "length");
        }
    }

    @Test
    void badToolRequestsAre400s() throws Exception {
        TestServer s = servers.get("javatiny");
        assertError(s.post("/v1/chat/completions", request(Map.of("type", "function", "function", Map.of("name", "nope")), false, Map.of())),
                400, "tool_choice");
        assertError(s.post("/v1/chat/completions", request("sometimes", false, Map.of())), 400, "tool_choice");
        assertError(s.post("/v1/chat/completions", request("required", false,
                Map.of("response_format", Map.of("type", "json_object")))), 400, "response_format");
        Map<String, Object> noName = new LinkedHashMap<>(request(null, false, Map.of()));
        noName.put("tools", List.of(Map.of("type", "function", "function", Map.of("description", "x"))));
        assertError(s.post("/v1/chat/completions", noName), 400, "tools[0].function.name");
        Map<String, Object> dup = new LinkedHashMap<>(request(null, false, Map.of()));
        dup.put("tools", List.of(TOOLS.get(0), TOOLS.get(0)));
        assertError(s.post("/v1/chat/completions", dup), 400, "tools[1].function.name");
        Map<String, Object> badSchema = new LinkedHashMap<>(request("required", false, Map.of()));
        badSchema.put("tools", List.of(Map.of("type", "function", "function", Map.of("name", "f",
                "parameters", Map.of("type", "object", "properties", Map.of("x", Map.of("type", "string", "contentEncoding", "base64")))))));
        assertError(s.post("/v1/chat/completions", badSchema), 400, "tools");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "tools", TOOLS)), 400, "tools");
        assertError(s.post("/v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", "x")),
                "tool_choice", "required")), 400, "tool_choice");
        List<Object> badArgs = List.of(Map.of("role", "assistant", "content", "", "tool_calls",
                List.of(Map.of("id", "c", "type", "function", "function", Map.of("name", "add", "arguments", "{oops")))));
        assertError(s.post("/v1/chat/completions", request(null, false, Map.of("messages", badArgs))),
                400, "messages[0].tool_calls[0].function.arguments");
    }
}
