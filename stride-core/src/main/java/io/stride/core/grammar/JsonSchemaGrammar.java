package io.stride.core.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema as GBNF, so that every sentence of the grammar is a JSON text valid under the schema. Supported:
 * {@code type} (one or a list), {@code properties}/{@code required}/{@code additionalProperties} (absent with
 * properties: no others), {@code items}/{@code prefixItems}/{@code minItems}/{@code maxItems}, {@code enum},
 * {@code const}, {@code anyOf}/{@code oneOf} (as alternatives; oneOf's exclusivity is the schema's to keep),
 * {@code allOf} of objects, {@code $ref} into {@code $defs}/{@code definitions} or {@code #}, {@code minLength}/
 * {@code maxLength}, {@code pattern}, {@code format} (date, time, date-time, uuid), integer bounds, number bounds that
 * are whole numbers, {@code nullable}; annotations are ignored. Any other keyword is refused by name. Properties come
 * out in schema order, required ones always. Whitespace is allowed after opening brackets and around commas and
 * colons, never after the whole value: once the value is complete the output ends.
 */
public final class JsonSchemaGrammar {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "$comment", "default",
            "examples", "readOnly", "writeOnly", "deprecated", "$defs", "definitions", "strict");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties", "items",
            "prefixItems", "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "minLength",
            "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "nullable");
    private static final Map<String, String> PRIMITIVES = new LinkedHashMap<>();

    static {
        PRIMITIVES.put("space", "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}");
        PRIMITIVES.put("boolean", "\"true\" | \"false\"");
        PRIMITIVES.put("null", "\"null\"");
        PRIMITIVES.put("char", "[^\"\\\\\\x7F\\x00-\\x1F] | [\\\\] ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
        PRIMITIVES.put("string", "\"\\\"\" char* \"\\\"\"");
        PRIMITIVES.put("integral-part", "[0] | [1-9] [0-9]{0,15}");
        PRIMITIVES.put("decimal-part", "[0-9]{1,16}");
        PRIMITIVES.put("number", "(\"-\"? integral-part) (\".\" decimal-part)? ([eE] [-+]? integral-part)?");
        PRIMITIVES.put("integer", "\"-\"? integral-part");
        PRIMITIVES.put("value", "object | array | string | number | boolean | null");
        PRIMITIVES.put("sep-space", "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}");
        PRIMITIVES.put("object", "\"{\" space (string space \":\" sep-space value (space \",\" sep-space string space \":\" sep-space value)* space)? \"}\"");
        PRIMITIVES.put("array", "\"[\" space (value (space \",\" sep-space value)* space)? \"]\"");
        PRIMITIVES.put("date", "[0-9]{4} \"-\" ((\"0\" [13578] | \"1\" [02]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01])"
                + " | (\"0\" [469] | \"11\") \"-\" (\"0\" [1-9] | [12] [0-9] | \"30\") | \"02-\" (\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]))");
        PRIMITIVES.put("time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})?"
                + " (\"Z\" | [+-] (\"0\" [0-9] | \"1\" [0-7]) \":\" [0-5] [0-9] | [+-] \"18:00\")");
        PRIMITIVES.put("date-time", "date \"T\" time");
        PRIMITIVES.put("uuid", "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}");
    }

    /**
     * Where whitespace may go. FLEXIBLE: after opening brackets and around commas and colons, as a writer may put it;
     * PYTHON: exactly Python's {@code json.dumps}, ", " and ": " and nothing else, the text chat templates show models
     * (their {@code tojson}); COMPACT: none.
     */
    public enum Whitespace { FLEXIBLE, PYTHON, COMPACT }

    private final Whitespace whitespace;
    private final JsonNode root;
    /** The rule the whole schema (and {@code $ref: "#"}) is defined as. */
    private final String rootRule;
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<String, String> refRules = new HashMap<>();

    private JsonSchemaGrammar(JsonNode root, String rootRule, Whitespace whitespace) {
        this.root = root;
        this.rootRule = rootRule;
        this.whitespace = whitespace;
    }

    /** GBNF whose sentences are the JSON texts valid under {@code schema}. */
    public static String fromSchema(JsonNode schema) {
        return fromSchema(schema, "root");
    }

    /**
     * Rules defining {@code rootRule} as the JSON texts valid under {@code schema} (with "root" they form a grammar;
     * with another name, part of one whose root frames them).
     */
    public static String fromSchema(JsonNode schema, String rootRule) {
        return fromSchema(schema, rootRule, Whitespace.FLEXIBLE);
    }

    /** As above, with whitespace only where {@code whitespace} puts it. */
    public static String fromSchema(JsonNode schema, String rootRule, Whitespace whitespace) {
        JsonSchemaGrammar g = new JsonSchemaGrammar(schema, rootRule, whitespace);
        g.rules.put(rootRule, "");
        g.rules.put(rootRule, g.expr(schema, rootRule, "#"));
        return g.render();
    }

    /** GBNF for any JSON object (OpenAI's {@code json_object} mode). */
    public static String anyObject() {
        JsonSchemaGrammar g = new JsonSchemaGrammar(null, "root", Whitespace.FLEXIBLE);
        g.rules.put("root", g.primitive("object"));
        return g.render();
    }

    private String render() {
        StringBuilder sb = new StringBuilder();
        rules.forEach((name, body) -> sb.append(name).append(" ::= ").append(body).append('\n'));
        return sb.toString();
    }

    /** Names rule {@code base} (made unique) with {@code body}; returns the name. */
    private String define(String base, String body) {
        String name = base.replaceAll("[^a-zA-Z0-9-]+", "-");
        if (name.isEmpty()) name = "r";
        String candidate = name;
        for (int i = 1; rules.containsKey(candidate) || PRIMITIVES.containsKey(candidate); i++) candidate = name + "-" + i;
        rules.put(candidate, body);
        return candidate;
    }

    private String primitive(String name) {
        if (!rules.containsKey(name)) {
            String body = switch (name) {
                case "space" -> whitespace == Whitespace.FLEXIBLE ? PRIMITIVES.get(name) : "\"\"";
                case "sep-space" -> whitespace == Whitespace.FLEXIBLE ? PRIMITIVES.get(name) : whitespace == Whitespace.PYTHON ? "\" \"" : "\"\"";
                default -> PRIMITIVES.get(name);
            };
            rules.put(name, body);
            for (String dep : PRIMITIVES.keySet()) {
                if (!dep.equals(name) && body.matches("(?s).*(^|[^a-z-])" + dep + "([^a-z-]|$).*")) primitive(dep);
            }
        }
        return name;
    }

    /** A GBNF expression (one element, parenthesized when needed) for {@code s}; {@code path} names where it is. */
    private String expr(JsonNode s, String name, String path) {
        if (s.isBoolean()) {
            if (s.booleanValue()) return primitive("value");
            throw new GrammarException("schema at " + path + " is false: nothing can match it");
        }
        if (!s.isObject()) throw new GrammarException("schema at " + path + " must be an object or a boolean");
        for (var it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k) && !ANNOTATIONS.contains(k)) {
                throw new GrammarException("JSON Schema keyword '" + k + "' (at " + path + ") is not supported");
            }
        }
        if (s.path("nullable").asBoolean(false)) {
            ObjectNode rest = ((ObjectNode) s).deepCopy();
            rest.remove("nullable");
            return "(" + expr(rest, name, path) + " | " + primitive("null") + ")";
        }
        if (s.has("$ref")) return ref(s.get("$ref").asText(), path);
        if (s.has("const")) return literal(s.get("const"));
        if (s.has("enum")) {
            List<String> alts = new ArrayList<>();
            for (JsonNode v : s.get("enum")) alts.add(literal(v));
            if (alts.isEmpty()) throw new GrammarException("enum at " + path + " is empty");
            return "(" + String.join(" | ", alts) + ")";
        }
        for (String k : new String[]{"anyOf", "oneOf"}) {
            if (s.has(k)) {
                List<String> alts = new ArrayList<>();
                int i = 0;
                for (JsonNode sub : s.get(k)) alts.add(expr(sub, name + "-" + i, path + "/" + k + "/" + i++));
                if (alts.isEmpty()) throw new GrammarException(k + " at " + path + " is empty");
                return "(" + String.join(" | ", alts) + ")";
            }
        }
        if (s.has("allOf")) return ObjectSchemas.object(this, ObjectSchemas.merge(this, s, path), name, path);
        JsonNode type = s.get("type");
        if (type != null && type.isArray()) {
            List<String> alts = new ArrayList<>();
            for (JsonNode t : type) {
                ObjectNode one = ((ObjectNode) s).deepCopy();
                one.set("type", t);
                alts.add(expr(one, name + "-" + t.asText(), path));
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        String t = type == null ? inferType(s) : type.asText();
        return switch (t) {
            case "object" -> ObjectSchemas.object(this, s, name, path);
            case "array" -> ObjectSchemas.array(this, s, name, path);
            case "string" -> string(s, name, path);
            case "integer", "number" -> NumberSchemas.number(this, s, t.equals("integer"), path);
            case "boolean", "null" -> primitive(t);
            case "any" -> primitive("value");
            default -> throw new GrammarException("type '" + t + "' (at " + path + ") is not a JSON Schema type");
        };
    }

    private static String inferType(JsonNode s) {
        if (s.has("properties") || s.has("additionalProperties") || s.has("required")) return "object";
        if (s.has("items") || s.has("prefixItems") || s.has("minItems") || s.has("maxItems")) return "array";
        if (s.has("minLength") || s.has("maxLength") || s.has("pattern") || s.has("format")) return "string";
        if (s.has("minimum") || s.has("maximum") || s.has("exclusiveMinimum") || s.has("exclusiveMaximum")) return "number";
        return "any";
    }

    private String string(JsonNode s, String name, String path) {
        String quote = Gbnf.literal("\"");
        if (s.has("format")) {
            String f = s.get("format").asText();
            if (!Set.of("date", "time", "date-time", "uuid").contains(f)) {
                throw new GrammarException("string format '" + f + "' (at " + path + ") is not supported");
            }
            if (s.has("pattern") || s.has("minLength") || s.has("maxLength")) {
                throw new GrammarException("format together with pattern or length (at " + path + ") is not supported");
            }
            return define(name, quote + " " + primitive(f) + " " + quote);
        }
        if (s.has("pattern")) {
            if (s.has("minLength") || s.has("maxLength")) {
                throw new GrammarException("pattern together with minLength or maxLength (at " + path + ") is not supported");
            }
            String body = RegexGrammar.toGbnf(s.get("pattern").asText(), JsonText::charExpr, true, primitive("char"));
            return define(name, quote + " " + body + " " + quote);
        }
        int min = s.path("minLength").asInt(0);
        int max = s.has("maxLength") ? s.get("maxLength").asInt() : -1;
        if (min < 0 || (max >= 0 && max < min)) throw new GrammarException("bad minLength/maxLength at " + path);
        if (min == 0 && max < 0) return primitive("string");
        String reps = "{" + min + "," + (max < 0 ? "" : max) + "}";
        return define(name, quote + " " + primitive("char") + reps + " " + quote);
    }

    private String ref(String ref, String path) {
        String known = refRules.get(ref);
        if (known != null) return known;
        JsonNode target;
        String base;
        if (ref.equals("#")) {
            target = root;
            base = rootRule;
        } else if (ref.startsWith("#/$defs/") || ref.startsWith("#/definitions/")) {
            target = root.at(ref.substring(1));
            base = ref.substring(ref.lastIndexOf('/') + 1);
        } else {
            throw new GrammarException("$ref '" + ref + "' (at " + path + ") is not supported: only #, #/$defs/... and #/definitions/...");
        }
        if (target.isMissingNode()) throw new GrammarException("$ref '" + ref + "' (at " + path + ") points at nothing");
        if (ref.equals("#")) {
            refRules.put(ref, rootRule);
            return rootRule;
        }
        String name = define(base, "");
        refRules.put(ref, name);
        rules.put(name, expr(target, name, ref));
        return name;
    }

    /** The schema {@code ref} points at (a local reference). */
    JsonNode resolve(String ref, String path) {
        JsonNode target = ref.equals("#") ? root : ref.startsWith("#/") ? root.at(ref.substring(1)) : null;
        if (target == null || target.isMissingNode()) throw new GrammarException("$ref '" + ref + "' (at " + path + ") cannot be resolved");
        return target;
    }

    /** The JSON text of {@code v} (compact) as a GBNF literal. */
    String literal(JsonNode v) {
        try {
            return Gbnf.literal(JSON.writeValueAsString(v));
        } catch (Exception e) {
            throw new GrammarException("cannot write " + v);
        }
    }

    /** Whitespace after an opening bracket and before a comma, colon or closing bracket. */
    String spaceRule() {
        return primitive("space");
    }

    /** Whitespace after a comma or colon. */
    String separatorSpaceRule() {
        return primitive("sep-space");
    }

    String rule(String primitiveName) {
        return primitive(primitiveName);
    }

    String named(String base, String body) {
        return define(base, body);
    }

    String sub(JsonNode s, String name, String path) {
        return expr(s, name, path);
    }
}
