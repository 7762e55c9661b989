package io.stride.core.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The object and array parts of {@link JsonSchemaGrammar}. An object is its required properties in schema order, then
 * each optional one or not (in schema order), then additional properties when the schema allows them; without
 * required properties the first property present carries no comma, so the grammar is a chain of "first present"
 * rules. An array is its items, {@code minItems} to {@code maxItems} of them, or a fixed tuple of {@code prefixItems}.
 */
final class ObjectSchemas {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ObjectSchemas() {}

    static String object(JsonSchemaGrammar g, JsonNode s, String name, String path) {
        String sp = g.spaceRule();
        String after = g.separatorSpaceRule();
        JsonNode props = s.path("properties");
        Set<String> required = new LinkedHashSet<>();
        for (JsonNode r : s.path("required")) required.add(r.asText());
        List<String> req = new ArrayList<>();
        List<String> opt = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : props.properties()) {
            String kv = g.named(name + "-" + e.getKey() + "-kv", g.literal(JSON.getNodeFactory().textNode(e.getKey())) + " " + sp
                    + " \":\" " + after + " " + g.sub(e.getValue(), name + "-" + e.getKey(), path + "/properties/" + e.getKey()));
            (required.contains(e.getKey()) ? req : opt).add(kv);
        }
        for (String r : required) {
            if (!props.has(r)) {
                req.add(g.named(name + "-" + r + "-kv", g.literal(JSON.getNodeFactory().textNode(r)) + " " + sp + " \":\" " + after + " " + g.rule("value")));
            }
        }
        JsonNode extra = s.get("additionalProperties");
        String additional = null;
        if (extra == null ? props.isEmpty() : !(extra.isBoolean() && !extra.booleanValue())) {
            String value = extra == null || extra.isBoolean() ? g.rule("value") : g.sub(extra, name + "-additional", path + "/additionalProperties");
            additional = g.named(name + "-additional-kv", g.rule("string") + " " + sp + " \":\" " + after + " " + value);
        }
        String comma = sp + " \",\" " + after + " ";
        StringBuilder body = new StringBuilder("\"{\" " + sp + " ");
        if (!req.isEmpty()) {
            body.append(String.join(" " + comma, req));
            for (String o : opt) body.append(" (").append(comma).append(o).append(")?");
            if (additional != null) body.append(" (").append(comma).append(additional).append(")*");
            body.append(" ").append(sp);
        } else if (!opt.isEmpty() || additional != null) {
            // first[i]: optional property i is the first present, any later ones follow with commas
            String next = additional == null ? null : g.named(name + "-first-" + opt.size(), additional + " (" + comma + additional + ")*");
            for (int i = opt.size() - 1; i >= 0; i--) {
                StringBuilder alt = new StringBuilder(opt.get(i));
                for (int j = i + 1; j < opt.size(); j++) alt.append(" (").append(comma).append(opt.get(j)).append(")?");
                if (additional != null) alt.append(" (").append(comma).append(additional).append(")*");
                String first = alt + (next == null ? "" : " | " + next);
                next = g.named(name + "-first-" + i, first);
            }
            body.append("(").append(next).append(" ").append(sp).append(")?");
        }
        body.append(" \"}\"");
        return g.named(name, body.toString());
    }

    static String array(JsonSchemaGrammar g, JsonNode s, String name, String path) {
        String sp = g.spaceRule();
        String comma = sp + " \",\" " + g.separatorSpaceRule() + " ";
        if (s.has("prefixItems")) {
            if (s.has("minItems") || s.has("maxItems") || (s.has("items") && !s.get("items").isBoolean())) {
                throw new GrammarException("prefixItems together with items, minItems or maxItems (at " + path + ") is not supported");
            }
            List<String> parts = new ArrayList<>();
            int i = 0;
            for (JsonNode item : s.get("prefixItems")) parts.add(g.sub(item, name + "-" + i, path + "/prefixItems/" + i++));
            return g.named(name, "\"[\" " + sp + " " + String.join(" " + comma, parts) + " " + sp + " \"]\"");
        }
        String item = s.has("items") ? g.sub(s.get("items"), name + "-item", path + "/items") : g.rule("value");
        int min = s.path("minItems").asInt(0);
        int max = s.has("maxItems") ? s.get("maxItems").asInt() : -1;
        if (min < 0 || (max >= 0 && max < min)) throw new GrammarException("bad minItems/maxItems at " + path);
        String body;
        if (max == 0) {
            body = "\"[\" " + sp + " \"]\"";
        } else if (min == 0) {
            body = "\"[\" " + sp + " (" + item + " (" + comma + item + "){0," + (max < 0 ? "" : max - 1) + "} " + sp + ")? \"]\"";
        } else {
            body = "\"[\" " + sp + " " + item + " (" + comma + item + "){" + (min - 1) + "," + (max < 0 ? "" : max - 1) + "} " + sp + " \"]\"";
        }
        return g.named(name, body);
    }

    /** One object schema with the properties and required names of every object schema in {@code s.allOf}. */
    static JsonNode merge(JsonSchemaGrammar g, JsonNode s, String path) {
        ObjectNode merged = JSON.createObjectNode();
        ObjectNode props = merged.putObject("properties");
        ArrayNode required = merged.putArray("required");
        List<JsonNode> parts = new ArrayList<>();
        s.get("allOf").forEach(parts::add);
        for (var it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("allOf")) {
                ObjectNode rest = ((ObjectNode) s).deepCopy();
                rest.remove("allOf");
                parts.add(rest);
                break;
            }
        }
        for (JsonNode part : parts) {
            JsonNode p = part;
            while (p.has("$ref")) p = g.resolve(p.get("$ref").asText(), path);
            for (var it = p.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!Set.of("type", "properties", "required", "additionalProperties", "title", "description").contains(k)) {
                    throw new GrammarException("allOf (at " + path + ") supports object schemas only; '" + k + "' is not supported there");
                }
            }
            if (p.has("type") && !p.get("type").asText().equals("object")) {
                throw new GrammarException("allOf (at " + path + ") supports object schemas only");
            }
            p.path("properties").properties().forEach(e -> props.set(e.getKey(), e.getValue()));
            p.path("required").forEach(required::add);
            if (p.has("additionalProperties")) merged.set("additionalProperties", p.get("additionalProperties"));
        }
        return merged;
    }
}
