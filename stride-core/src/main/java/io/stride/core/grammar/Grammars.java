package io.stride.core.grammar;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.stream.Collectors;

/** GBNF for the ways requests constrain output: a JSON Schema, any JSON object, a regular expression, a choice. */
public final class Grammars {
    private Grammars() {}

    /** The JSON texts valid under {@code schema} ({@link JsonSchemaGrammar}). */
    public static String jsonSchema(JsonNode schema) {
        return JsonSchemaGrammar.fromSchema(schema);
    }

    /** As above, whitespace only where {@code whitespace} puts it (COMPACT: none at all). */
    public static String jsonSchema(JsonNode schema, JsonSchemaGrammar.Whitespace whitespace) {
        return JsonSchemaGrammar.fromSchema(schema, "root", whitespace);
    }

    /**
     * {@code open} item ({@code separator} item)* {@code close}, each item a JSON text valid under {@code schema};
     * one item only unless {@code repeated}; the JSON spaced as Python's {@code json.dumps} spaces it (", ", ": "),
     * as chat templates show calls to models. Tool calls are this: the calls' JSON between a model's call markers.
     */
    public static String framedJsonSchema(JsonNode schema, String open, String separator, String close, boolean repeated) {
        String rules = JsonSchemaGrammar.fromSchema(schema, "item", JsonSchemaGrammar.Whitespace.PYTHON);
        String more = repeated ? " (" + (separator.isEmpty() ? "" : Gbnf.literal(separator) + " ") + "item)*" : "";
        return "root ::= " + (open.isEmpty() ? "" : Gbnf.literal(open) + " ") + "item" + more
                + (close.isEmpty() ? "" : " " + Gbnf.literal(close)) + "\n" + rules;
    }

    /** Any JSON object. */
    public static String jsonObject() {
        return JsonSchemaGrammar.anyObject();
    }

    /** The strings {@code regex} matches in full ({@link RegexGrammar}). */
    public static String regex(String regex) {
        return "root ::= " + RegexGrammar.toGbnf(regex, Gbnf::charClass, false, null) + "\n";
    }

    /** Exactly one of {@code choices}. */
    public static String choice(List<String> choices) {
        if (choices.isEmpty()) throw new GrammarException("the list of choices is empty");
        return "root ::= " + choices.stream().map(Gbnf::literal).collect(Collectors.joining(" | ")) + "\n";
    }
}
