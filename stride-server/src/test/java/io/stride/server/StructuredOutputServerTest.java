package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.stride.server.ErrorHandlingTest.assertError;
import static io.stride.server.TestServer.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Output under {@code response_format: json_schema} always parses and validates (networknt's validator, draft
 * 2020-12, formats asserted): javatiny-26m, for each schema of the core's {@code grammar/schemas.json}, greedy and
 * sampled, each schema on a different one of chat / completions × streaming / not. Also the other constraint fields
 * (json_object, grammar, guided_choice, guided_regex) and their errors.
 */
class StructuredOutputServerTest {
    static TestServer s;
    static final int MAX_TOKENS = 384;

    @BeforeAll
    static void start() {
        s = TestServer.builder().start();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    /** Text and finish reason of one request, streamed or not, chat or completions. */
    record Output(String text, String finish) {}

    static Output run(boolean chat, boolean stream, Map<String, Object> extra) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>(extra);
        if (chat) body.put("messages", List.of(Map.of("role", "user", "content", "Give the JSON for a Java class.")));
        else body.put("prompt", "// a JSON value\n");
        body.put("max_tokens", MAX_TOKENS);
        body.put("stream", stream);
        String path = chat ? "/v1/chat/completions" : "/v1/completions";
        if (!stream) {
            HttpResponse<String> r = s.post(path, body);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode c = JSON.readTree(r.body()).get("choices").get(0);
            return new Output(chat ? c.get("message").get("content").asText() : c.get("text").asText(), c.get("finish_reason").asText());
        }
        var req = HttpRequest.newBuilder(URI.create(s.url() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<java.util.stream.Stream<String>> r = s.http.send(req, HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String line : (Iterable<String>) r.body()::iterator) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode c = JSON.readTree(line.substring(6)).path("choices").path(0);
            text.append(chat ? c.path("delta").path("content").asText("") : c.path("text").asText(""));
            if (c.hasNonNull("finish_reason")) finish = c.get("finish_reason").asText();
        }
        return new Output(text.toString(), finish);
    }

    static Schema validator(JsonNode schema) {
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                b -> b.schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build())).getSchema(schema);
    }

    @Test
    void everyOutputUnderAJsonSchemaValidates() throws Exception {
        JsonNode schemas = JSON.readTree(Files.readString(Path.of("../stride-core/src/test/resources/grammar/schemas.json")));
        List<Future<String>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            int i = 0;
            for (JsonNode entry : schemas) {
                for (boolean sampled : new boolean[]{false, true}) {
                    int k = i++;
                    results.add(pool.submit(() -> {
                        boolean chat = k % 2 == 0, stream = k / 2 % 2 == 0;
                        Map<String, Object> extra = new LinkedHashMap<>();
                        extra.put("response_format", Map.of("type", "json_schema", "json_schema",
                                Map.of("name", entry.get("name").asText(), "strict", true, "schema", entry.get("schema"))));
                        extra.put("temperature", sampled ? 1.0 : 0.0);
                        extra.put("seed", k);
                        Output o = run(chat, stream, extra);
                        String what = entry.get("name").asText() + (sampled ? " sampled" : " greedy") + (chat ? " chat" : " completion")
                                + (stream ? " stream" : "") + ": " + o.text();
                        if (!o.finish().equals("stop")) return "length " + what;
                        JsonNode value = JSON.readTree(o.text());
                        assertThat(validator(entry.get("schema")).validate(value)).as(what).isEmpty();
                        return "ok";
                    }));
                }
            }
            int ok = 0;
            List<String> cut = new ArrayList<>();
            for (Future<String> f : results) {
                if (f.get().equals("ok")) ok++;
                else cut.add(f.get());
            }
            assertThat(ok).as("outputs that completed within %d tokens; cut: %s", MAX_TOKENS, cut).isGreaterThanOrEqualTo(results.size() * 85 / 100);
        }
    }

    @Test
    void otherConstraintFields() throws Exception {
        for (int seed = 0; seed < 3; seed++) {
            Output o = run(true, false, Map.of("response_format", Map.of("type", "json_object"), "temperature", 1, "seed", seed));
            assertThat(o.text()).startsWith("{");
            if (o.finish().equals("stop")) assertThat(JSON.readTree(o.text()).isObject()).as(o.text()).isTrue();
        }
        Output o;
        o = run(false, true, Map.of("grammar", "root ::= \"public \" (\"class\" | \"interface\") \" \" [A-Z] [a-z]{2,6}", "temperature", 0));
        assertThat(o.text()).matches("public (class|interface) [A-Z][a-z]{2,6}");
        assertThat(o.finish()).isEqualTo("stop");
        o = run(false, false, Map.of("guided_choice", List.of("yes", "no"), "temperature", 0.8, "seed", 3));
        assertThat(o.text()).isIn("yes", "no");
        o = run(true, false, Map.of("guided_regex", "[0-9]{3}-[a-z]{2}", "temperature", 0.8, "seed", 4));
        assertThat(o.text()).matches("[0-9]{3}-[a-z]{2}");
        o = run(false, false, Map.of("structured_outputs", Map.of("json", Map.of("type", "integer", "minimum", 3, "maximum", 7))));
        assertThat(JSON.readTree(o.text()).asInt()).isBetween(3, 7);
        // vLLM's disable_any_whitespace: compact JSON only
        for (int seed = 0; seed < 3; seed++) {
            // the schema parsed from text: property order (which the output follows) must not depend on Map.of's
            JsonNode compact = JSON.readTree("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"maxLength\": 10},"
                    + " \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"maxItems\": 3}}, \"required\": [\"name\", \"tags\"]}");
            o = run(true, seed == 1, Map.of("structured_outputs", Map.of("json", compact, "disable_any_whitespace", true),
                    "temperature", 1, "seed", seed));
            assertThat(o.text()).matches("\\{\"name\":\"[^\"]*\",\"tags\":\\[(-?[0-9]+(,-?[0-9]+){0,2})?]}");
        }
        // a grammar that cannot finish within max_tokens ends with length
        HttpResponse<String> r = s.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 5, "grammar", "root ::= \"a\"{20}"));
        assertThat(JSON.readTree(r.body()).at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(JSON.readTree(r.body()).at("/choices/0/text").asText()).matches("a{1,19}");
    }

    @Test
    void badConstraintsAreNamed() throws Exception {
        String msgs = "messages";
        List<Map<String, String>> hi = List.of(Map.of("role", "user", "content", "hi"));
        assertError(s.post("/v1/chat/completions", Map.of(msgs, hi, "response_format", Map.of("type", "xml"))), 400, "response_format");
        assertError(s.post("/v1/chat/completions", Map.of(msgs, hi, "response_format", Map.of("type", "json_schema",
                "json_schema", Map.of("name", "x", "schema", Map.of("type", "array", "uniqueItems", true))))), 400, "uniqueItems");
        assertError(s.post("/v1/chat/completions", Map.of(msgs, hi, "response_format", Map.of("type", "json_schema",
                "json_schema", Map.of("name", "x")))), 400, "schema is required");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "grammar", "root ::= foo")), 400, "never defined");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "grammar", "root ::= root \"a\"")), 400, "left recursion");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "grammar", "root ::= \"a\"", "response_format",
                Map.of("type", "json_object"))), 400, "both constrain");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "guided_regex", "(a")), 400, "guided_regex");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "guided_choice", List.of())), 400, "guided_choice");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "json_schema", "{not json")), 400, "json_schema");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "structured_outputs", Map.of("json", Map.of("type", "object"),
                "disable_any_whitespace", "yes"))), 400, "disable_any_whitespace");
        assertError(s.post("/v1/completions", Map.of("prompt", "x", "structured_outputs", Map.of("whitespace_pattern", " *"))),
                400, "structured_outputs.whitespace_pattern");
        assertThat(s.get("/health").statusCode()).isEqualTo(200);
    }
}
