package io.stride.server;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.stride.core.grammar.GrammarException;
import io.stride.core.grammar.Grammars;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, validated. {@code auto}
 * lets the model choose between text and calls; {@code required} and a named function constrain the output with
 * a grammar of the model's call format, so it always parses; {@code none} offers the tools (the template still
 * shows them) but reads the output as text.
 *
 * @param tools    the tools as the request gave them (each {"type": "function", "function": {...}})
 * @param choice   "none", "auto", "required", or "function" (then {@code function} names it)
 * @param parallel whether the model may make several calls in one answer
 */
record ToolRequest(List<JsonNode> tools, String choice, String function, boolean parallel) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_.-]{1,64}");
    /** Most tools one request may offer. */
    static final int MAX_TOOLS = 128;

    /** The request's tools, or null when it offers none (and then tool_choice may only be none or auto). */
    static ToolRequest parse(JsonNode body) {
        JsonNode t = body.get("tools");
        JsonNode tc = body.get("tool_choice");
        JsonNode pc = body.get("parallel_tool_calls");
        if (pc != null && !pc.isNull() && !pc.isBoolean()) throw ApiException.badRequest("parallel_tool_calls must be a boolean", "parallel_tool_calls");
        boolean parallel = pc == null || pc.isNull() || pc.asBoolean();
        if (t == null || t.isNull() || (t.isArray() && t.isEmpty())) {
            if (tc != null && !tc.isNull() && !(tc.isTextual() && (tc.asText().equals("none") || tc.asText().equals("auto")))) {
                throw ApiException.badRequest("tool_choice " + tc + " needs tools", "tool_choice");
            }
            return null;
        }
        if (!t.isArray()) throw ApiException.badRequest("tools must be an array of tool objects", "tools");
        if (t.size() > MAX_TOOLS) throw ApiException.badRequest("at most " + MAX_TOOLS + " tools per request", "tools");
        List<JsonNode> tools = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < t.size(); i++) {
            JsonNode tool = t.get(i);
            String at = "tools[" + i + "]";
            if (!tool.isObject() || !"function".equals(tool.path("type").asText())) {
                throw ApiException.badRequest(at + ".type must be \"function\" (the only tool type supported)", at + ".type");
            }
            JsonNode f = tool.get("function");
            if (f == null || !f.isObject()) throw ApiException.badRequest(at + ".function must be an object", at + ".function");
            String name = f.path("name").asText("");
            if (!f.path("name").isTextual() || !NAME.matcher(name).matches()) {
                throw ApiException.badRequest(at + ".function.name must be 1 to 64 letters, digits, '_', '.' or '-'", at + ".function.name");
            }
            if (!names.add(name)) throw ApiException.badRequest(at + ".function.name: two tools are named '" + name + "'", at + ".function.name");
            JsonNode params = f.get("parameters");
            if (params != null && !params.isNull() && !params.isObject()) {
                throw ApiException.badRequest(at + ".function.parameters must be a JSON Schema object", at + ".function.parameters");
            }
            tools.add(tool);
        }
        String choice = "auto";
        String function = null;
        if (tc != null && !tc.isNull()) {
            if (tc.isTextual() && Set.of("none", "auto", "required").contains(tc.asText())) {
                choice = tc.asText();
            } else if (tc.isObject() && "function".equals(tc.path("type").asText()) && tc.path("function").path("name").isTextual()) {
                choice = "function";
                function = tc.get("function").get("name").asText();
                if (!names.contains(function)) throw ApiException.badRequest("tool_choice names '" + function + "', which is not in tools", "tool_choice");
            } else {
                throw ApiException.badRequest("tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
            }
        }
        return new ToolRequest(tools, choice, function, parallel);
    }

    /** Whether the output is read for calls. */
    boolean parsesCalls() {
        return !choice.equals("none");
    }

    /** Whether a grammar forces the output to be calls. */
    boolean forcesCalls() {
        return choice.equals("required") || choice.equals("function");
    }

    /** The tools as plain maps and lists, for the chat template's {@code tools} variable. */
    List<Object> templateTools() {
        return JSON.convertValue(tools, new TypeReference<List<Object>>() {});
    }

    /**
     * The grammar of a forced answer in {@code format}: one call (or several, when parallel and no function is
     * named) of an offered function, its arguments valid under that function's parameters schema.
     */
    StructuredOutput.Constraint constraint(ToolFormat format) {
        ArrayNode alternatives = JsonNodeFactory.instance.arrayNode();
        ObjectNode defs = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode f = tools.get(i).get("function");
            String name = f.get("name").asText();
            if (function != null && !function.equals(name)) continue;
            JsonNode params = f.get("parameters");
            ObjectNode call = JsonNodeFactory.instance.objectNode();
            call.put("type", "object");
            ObjectNode props = call.putObject("properties");
            props.putObject("name").set("const", TextNode.valueOf(name));
            props.set(format.argumentsKey, params == null || params.isNull() ? JsonNodeFactory.instance.objectNode().put("type", "object")
                    : hoist(params, "t" + i + "-", defs));
            call.putArray("required").add("name").add(format.argumentsKey);
            call.put("additionalProperties", false);
            alternatives.add(call);
        }
        ObjectNode schema = JsonNodeFactory.instance.objectNode();
        if (alternatives.size() == 1) schema.setAll((ObjectNode) alternatives.get(0));
        else schema.set("anyOf", alternatives);
        if (!defs.isEmpty()) schema.set("$defs", defs);
        String[] frame = format.frame();
        try {
            return new StructuredOutput.Constraint(
                    Grammars.framedJsonSchema(schema, frame[0], frame[1], frame[2], parallel && function == null), "tools");
        } catch (GrammarException e) {
            throw ApiException.badRequest("tools: a function's parameters cannot be enforced: " + e.getMessage(), "tools");
        }
    }

    /**
     * {@code params} with its {@code $defs}/{@code definitions} moved into {@code defs} under {@code prefix}, and its
     * local references rewritten to match, so that several tools' schemas live in one schema without clashing.
     */
    private static JsonNode hoist(JsonNode params, String prefix, ObjectNode defs) {
        ObjectNode copy = params.deepCopy();
        for (String key : List.of("$defs", "definitions")) {
            JsonNode d = copy.remove(key);
            if (d != null && d.isObject()) {
                for (var it = d.fields(); it.hasNext(); ) {
                    var e = it.next();
                    defs.set(prefix + e.getKey(), rewriteRefs(e.getValue().deepCopy(), prefix));
                }
            }
        }
        defs.set(prefix + "root", rewriteRefs(copy, prefix));
        return JsonNodeFactory.instance.objectNode().put("$ref", "#/$defs/" + prefix + "root");
    }

    private static JsonNode rewriteRefs(JsonNode n, String prefix) {
        if (n.isObject()) {
            ObjectNode o = (ObjectNode) n;
            JsonNode ref = o.get("$ref");
            if (ref != null && ref.isTextual()) {
                String r = ref.asText();
                if (r.equals("#")) o.put("$ref", "#/$defs/" + prefix + "root");
                else if (r.startsWith("#/$defs/")) o.put("$ref", "#/$defs/" + prefix + r.substring(8));
                else if (r.startsWith("#/definitions/")) o.put("$ref", "#/$defs/" + prefix + r.substring(14));
            }
            for (var it = o.fields(); it.hasNext(); ) rewriteRefs(it.next().getValue(), prefix);
        } else if (n.isArray()) {
            for (JsonNode c : n) rewriteRefs(c, prefix);
        }
        return n;
    }

    /** The system text that teaches the Hermes call format, for chat templates that do not show tools. */
    String hermesSystemText() {
        StringBuilder sb = new StringBuilder("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
        for (JsonNode t : tools) {
            sb.append('\n').append(PythonJsonFilter.write(JSON.convertValue(t, Object.class), -1));
        }
        return sb.append("\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
                + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>")
                .toString();
    }
}
