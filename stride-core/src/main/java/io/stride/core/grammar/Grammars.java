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
