package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.grammar.GrammarException;
import io.stride.core.grammar.Grammars;
import io.stride.core.grammar.JsonSchemaGrammar;

import java.util.ArrayList;
import java.util.List;

/**
 * The request fields that constrain the output to a grammar, in the three dialects clients speak: OpenAI's
 * {@code response_format} ({@code text}, {@code json_object}, {@code json_schema}), llama-server's {@code grammar}
 * (GBNF) and {@code json_schema}, vLLM's {@code guided_json}/{@code guided_regex}/{@code guided_choice}/
 * {@code guided_grammar} and {@code structured_outputs}. Each becomes GBNF; more than one at once is a 400 naming
 * both, as is a schema or pattern the grammar engine refuses (with its reason).
 */
final class StructuredOutput {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** GBNF text for the request's output and the field it came from. */
    record Constraint(String gbnf, String field) {}

    private StructuredOutput() {}

    /** The request's constraint, or null for free text. */
    static Constraint parse(JsonNode b) {
        List<Constraint> found = new ArrayList<>();
        JsonNode rf = b.get("response_format");
        if (present(rf)) {
            Constraint c = responseFormat(rf);
            if (c != null) found.add(c);
        }
        if (present(b.get("grammar"))) found.add(new Constraint(text(b, "grammar"), "grammar"));
        if (present(b.get("json_schema"))) found.add(schema(b.get("json_schema"), "json_schema"));
        if (present(b.get("guided_json"))) found.add(schema(b.get("guided_json"), "guided_json"));
        if (present(b.get("guided_regex"))) found.add(regex(text(b, "guided_regex"), "guided_regex"));
        if (present(b.get("guided_choice"))) found.add(choice(b.get("guided_choice"), "guided_choice"));
        if (present(b.get("guided_grammar"))) found.add(new Constraint(text(b, "guided_grammar"), "guided_grammar"));
        JsonNode so = b.get("structured_outputs");
        if (present(so)) {
            if (!so.isObject()) throw ApiException.badRequest("structured_outputs must be an object", "structured_outputs");
            JsonNode compact = so.get("disable_any_whitespace");
            if (compact != null && !compact.isBoolean()) {
                throw ApiException.badRequest("structured_outputs.disable_any_whitespace must be a boolean", "structured_outputs.disable_any_whitespace");
            }
            JsonSchemaGrammar.Whitespace ws = compact != null && compact.asBoolean() ? JsonSchemaGrammar.Whitespace.COMPACT
                    : JsonSchemaGrammar.Whitespace.FLEXIBLE;
            for (var it = so.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                String field = "structured_outputs." + k;
                switch (k) {
                    case "disable_any_whitespace" -> { }
                    case "json" -> found.add(schema(so.get(k), field, ws));
                    case "json_object" -> {
                        if (!so.get(k).isBoolean()) throw ApiException.badRequest(field + " must be a boolean", field);
                        if (so.get(k).asBoolean()) found.add(schema(JSON.getNodeFactory().objectNode().put("type", "object"), field, ws));
                    }
                    case "regex" -> found.add(regex(text(so, k), field));
                    case "choice" -> found.add(choice(so.get(k), field));
                    case "grammar" -> found.add(new Constraint(text(so, k), field));
                    default -> throw ApiException.badRequest(field + " is not supported (json, json_object, regex, choice, grammar, "
                            + "disable_any_whitespace are)", field);
                }
            }
        }
        if (found.size() > 1) {
            throw ApiException.badRequest(found.get(0).field() + " and " + found.get(1).field()
                    + " both constrain the output; give one", found.get(1).field());
        }
        return found.isEmpty() ? null : found.getFirst();
    }

    private static Constraint responseFormat(JsonNode rf) {
        if (!rf.isObject()) throw ApiException.badRequest("response_format must be an object", "response_format");
        String type = rf.path("type").asText("");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> rf.has("schema") ? schema(rf.get("schema"), "response_format.schema")
                    : new Constraint(Grammars.jsonObject(), "response_format");
            case "json_schema" -> {
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badRequest("response_format.json_schema must be an object with a schema", "response_format.json_schema");
                }
                JsonNode strict = js.get("strict");
                if (strict != null && !strict.isNull() && !strict.isBoolean()) {
                    throw ApiException.badRequest("response_format.json_schema.strict must be a boolean", "response_format.json_schema.strict");
                }
                if (!js.has("schema")) {
                    throw ApiException.badRequest("response_format.json_schema.schema is required", "response_format.json_schema.schema");
                }
                yield schema(js.get("schema"), "response_format.json_schema.schema");
            }
            default -> throw ApiException.badRequest("response_format type must be text, json_object or json_schema, got '" + type + "'",
                    "response_format.type");
        };
    }

    private static Constraint schema(JsonNode schema, String field) {
        return schema(schema, field, JsonSchemaGrammar.Whitespace.FLEXIBLE);
    }

    private static Constraint schema(JsonNode schema, String field, JsonSchemaGrammar.Whitespace whitespace) {
        try {
            JsonNode s = schema.isTextual() ? JSON.readTree(schema.asText()) : schema;
            return new Constraint(Grammars.jsonSchema(s, whitespace), field);
        } catch (GrammarException e) {
            throw ApiException.badRequest(field + ": " + e.getMessage(), field);
        } catch (Exception e) {
            throw ApiException.badRequest(field + " is not valid JSON: " + e.getMessage(), field);
        }
    }

    private static Constraint regex(String re, String field) {
        try {
            return new Constraint(Grammars.regex(re), field);
        } catch (GrammarException e) {
            throw ApiException.badRequest(field + ": " + e.getMessage(), field);
        }
    }

    private static Constraint choice(JsonNode v, String field) {
        if (!v.isArray() || v.isEmpty()) throw ApiException.badRequest(field + " must be a non-empty array of strings", field);
        List<String> choices = new ArrayList<>();
        for (JsonNode c : v) {
            if (!c.isTextual()) throw ApiException.badRequest(field + " must be a non-empty array of strings", field);
            choices.add(c.asText());
        }
        return new Constraint(Grammars.choice(choices), field);
    }

    private static String text(JsonNode b, String field) {
        JsonNode v = b.get(field);
        if (!v.isTextual()) throw ApiException.badRequest(field + " must be a string", field);
        return v.asText();
    }

    private static boolean present(JsonNode v) {
        return v != null && !v.isNull() && !(v.isTextual() && v.asText().isEmpty());
    }
}
