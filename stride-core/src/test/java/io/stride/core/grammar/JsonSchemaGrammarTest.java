package io.stride.core.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every sentence of a schema's grammar is valid under the schema: random sentences of the grammar of each of the
 * schemas in {@code grammar/schemas.json} are validated by networknt's JSON Schema validator (draft 2020-12, formats
 * asserted); schema features the converter does not support are refused by name.
 */
class JsonSchemaGrammarTest {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] CLOSERS = "\"}],:0".getBytes(StandardCharsets.US_ASCII);

    static JsonNode schemas() throws IOException {
        try (InputStream in = JsonSchemaGrammarTest.class.getResourceAsStream("/grammar/schemas.json")) {
            return JSON.readTree(in);
        }
    }

    static Schema validator(JsonNode schema) {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                b -> b.schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
        return registry.getSchema(schema);
    }

    /** A random sentence of {@code g}, or null when the walk grew past the cap. Leans to closing bytes to end soon. */
    static String randomSentence(Grammar g, SplittableRandom random) {
        Stack[] state = Parses.start(g);
        byte[] out = new byte[4096];
        int n = 0;
        while (n < out.length) {
            if (Parses.canEnd(state) && (state.length == 1 || random.nextInt(3) == 0)) {
                return new String(out, 0, n, StandardCharsets.UTF_8);
            }
            Stack[] next = new Stack[0];
            int b = -1;
            if (random.nextInt(3) == 0) {
                for (byte c : CLOSERS) {
                    next = Parses.advance(g, state, c & 0xFF);
                    if (next.length > 0) {
                        b = c & 0xFF;
                        break;
                    }
                }
            }
            for (int tries = 0; b < 0 && tries < 48; tries++) {
                int c = random.nextInt(256);
                next = Parses.advance(g, state, c);
                if (next.length > 0) b = c;
            }
            for (int c = 0; b < 0 && c < 256; c++) {
                next = Parses.advance(g, state, c);
                if (next.length > 0) b = c;
            }
            assertThat(b).as("a live state must allow some byte after %s", new String(out, 0, n, StandardCharsets.UTF_8)).isGreaterThanOrEqualTo(0);
            out[n++] = (byte) b;
            state = next;
        }
        return null;
    }

    @Test
    void randomSentencesOfEverySchemaGrammarValidate() throws IOException {
        SplittableRandom random = new SplittableRandom(42);
        JsonNode all = schemas();
        assertThat(all.size()).isGreaterThanOrEqualTo(30);
        for (JsonNode entry : all) {
            JsonNode schema = entry.get("schema");
            Grammar g = Grammar.parse(JsonSchemaGrammar.fromSchema(schema));
            Schema validator = validator(schema);
            int complete = 0;
            for (int i = 0; i < 12; i++) {
                String text = randomSentence(g, random);
                if (text == null) continue;
                complete++;
                JsonNode value = JSON.readTree(text);
                assertThat(validator.validate(value)).as("%s: %s", entry.get("name").asText(), text).isEmpty();
            }
            assertThat(complete).as("%s: complete sentences", entry.get("name").asText()).isGreaterThanOrEqualTo(6);
        }
    }

    @Test
    void invalidInstancesAreNotSentences() throws IOException {
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[]{"person", "{\"name\": \"a\"}"});
        cases.add(new String[]{"person", "{\"age\": 3, \"name\": \"a\"}"});
        cases.add(new String[]{"person", "{\"name\": \"a\", \"age\": 3} "}); // nothing after the value: the output ends there
        cases.add(new String[]{"integer-range", "{\"n\": 11}"});
        cases.add(new String[]{"integer-range", "{\"n\": 0}"});
        cases.add(new String[]{"closed-object", "{\"a\": 1, \"z\": 2}"});
        cases.add(new String[]{"array-bounds", "[]"});
        cases.add(new String[]{"array-bounds", "[\"a\", \"b\", \"c\", \"d\"]"});
        cases.add(new String[]{"number-unit", "{\"p\": 1.5}"});
        cases.add(new String[]{"format-date", "{\"day\": \"2024-02-30\"}"});
        cases.add(new String[]{"pattern-anchored", "{\"code\": \"AB-12\"}"});
        cases.add(new String[]{"number-signed", "3"});
        JsonNode all = schemas();
        for (String[] c : cases) {
            for (JsonNode e : all) {
                if (e.get("name").asText().equals(c[0])) {
                    Grammar g = Grammar.parse(JsonSchemaGrammar.fromSchema(e.get("schema")));
                    assertThat(GrammarTest.matches(g, c[1])).as("%s: %s", c[0], c[1]).isFalse();
                }
            }
        }
        // JSON Schema patterns search: unanchored ends are open
        Grammar search = Grammar.parse(JsonSchemaGrammar.fromSchema(JSON.readTree("{\"type\": \"string\", \"pattern\": \"ja+va\"}")));
        assertThat(GrammarTest.matches(search, "\"my jaava code\"")).isTrue();
        assertThat(GrammarTest.matches(search, "\"jav\"")).isFalse();
        Grammar escaped = Grammar.parse(JsonSchemaGrammar.fromSchema(JSON.createObjectNode().put("type", "string").put("pattern", "^a[\"\\\\\n]b$")));
        assertThat(GrammarTest.matches(escaped, "\"a\\\"b\"")).isTrue();
        assertThat(GrammarTest.matches(escaped, "\"a\\\\b\"")).isTrue();
        assertThat(GrammarTest.matches(escaped, "\"a\\nb\"")).isTrue();
        assertThat(GrammarTest.matches(escaped, "\"a\\u000Ab\"")).isTrue();
        assertThat(GrammarTest.matches(escaped, "\"a\"b\"")).isFalse();
        Grammar person = Grammar.parse(JsonSchemaGrammar.fromSchema(all.get(0).get("schema")));
        assertThat(GrammarTest.matches(person, "{ \"name\": \"Ann\",\n  \"age\": 42 }")).isTrue();
    }

    @Test
    void unsupportedKeywordsAreRefusedByName() {
        String[][] cases = {
                {"{\"type\": \"array\", \"uniqueItems\": true}", "'uniqueItems'"},
                {"{\"type\": \"number\", \"multipleOf\": 3}", "'multipleOf'"},
                {"{\"type\": \"object\", \"patternProperties\": {}}", "'patternProperties'"},
                {"{\"type\": \"string\", \"format\": \"email\"}", "format 'email'"},
                {"{\"$ref\": \"https://example.com/s.json\"}", "$ref"},
                {"{\"type\": \"number\", \"minimum\": 0.5}", "whole number"},
                {"{\"type\": \"string\", \"pattern\": \"(?=x)\"}", "look-around"},
                {"{\"type\": \"text\"}", "'text'"},
                {"{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\", \"minimum\": 5, \"maximum\": 1}}}", "empty integer range"},
                {"false", "nothing can match"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema(JSON.readTree(c[0]))).as(c[0])
                    .isInstanceOf(GrammarException.class).hasMessageContaining(c[1]);
        }
    }

    @Test
    void framedCallsAreSpacedAsPythonsJsonDumps() throws Exception {
        JsonNode schema = JSON.readTree("""
                {"type": "object", "properties": {"name": {"const": "add"}, "arguments": {"type": "object",
                  "properties": {"a": {"type": "integer"}, "xs": {"type": "array", "items": {"type": "integer"}}}, "required": ["a"]}},
                 "required": ["name", "arguments"]}""");
        Grammar one = Grammar.parse(Grammars.framedJsonSchema(schema, "<tool_call>\n", "\n</tool_call>\n<tool_call>\n", "\n</tool_call>", false));
        String call = "{\"name\": \"add\", \"arguments\": {\"a\": 1, \"xs\": [1, 2]}}";
        assertThat(GrammarTest.matches(one, "<tool_call>\n" + call + "\n</tool_call>")).isTrue();
        assertThat(GrammarTest.matches(one, "<tool_call>\n" + call.replace(": ", ":") + "\n</tool_call>")).isFalse();
        assertThat(GrammarTest.alive(one, "<tool_call>\n{ ")).isFalse();
        assertThat(GrammarTest.matches(one, "<tool_call>\n" + call + "\n</tool_call>\n<tool_call>\n" + call + "\n</tool_call>")).isFalse();
        Grammar many = Grammar.parse(Grammars.framedJsonSchema(schema, "[", ", ", "]", true));
        assertThat(GrammarTest.matches(many, "[" + call + ", " + call + "]")).isTrue();
        assertThat(GrammarTest.matches(many, "[" + call + "]")).isTrue();
        assertThat(GrammarTest.matches(many, "[]")).isFalse();
        // the flexible default still takes any spacing
        Grammar flexible = Grammar.parse(Grammars.jsonSchema(schema));
        assertThat(GrammarTest.matches(flexible, "{ \"name\" :\"add\",\n  \"arguments\": {\"a\":1}}")).isTrue();
    }
}
