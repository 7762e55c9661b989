package io.stride.server;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;

/** The server's JSON mapper: strict limits on nesting, numbers and strings so hostile bodies fail fast with a 400. */
final class Json {
    private static final int MAX_DEPTH = 64;
    private static final int MAX_NUMBER = 64;
    private static final int MAX_STRING = 16 * 1024 * 1024;
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_DEPTH)
                .maxNumberLength(MAX_NUMBER)
                .maxStringLength(MAX_STRING)
                .build());
    }

    private Json() {}

    /** Parses a request body into an object node, or throws a 400. */
    static JsonNode parseObject(byte[] body) {
        JsonNode n;
        try {
            n = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("invalid JSON body: " + describe(e), null);
        } catch (IOException | RuntimeException e) {
            throw ApiException.badRequest("invalid JSON body", null);
        }
        if (n == null || !n.isObject()) {
            throw ApiException.badRequest("the request body must be a JSON object", null);
        }
        return n;
    }

    /**
     * What is wrong with a body, in the client's terms: the parser's own words without the library's class and
     * option names (they mean nothing to a client and tell an attacker what runs here), and where it happened.
     */
    static String describe(JsonProcessingException e) {
        String what;
        if (e instanceof StreamConstraintsException) {
            String m = String.valueOf(e.getOriginalMessage());
            what = m.contains("nesting depth") ? "nested deeper than " + MAX_DEPTH + " levels"
                    : m.contains("Number value length") ? "a number longer than " + MAX_NUMBER + " characters"
                    : m.contains("String value length") ? "a string longer than " + MAX_STRING + " characters"
                    : "the document exceeds the server's limits";
        } else if (e instanceof MismatchedInputException && String.valueOf(e.getOriginalMessage()).startsWith("Trailing token")) {
            what = "unexpected data after the JSON value";
        } else {
            what = String.valueOf(e.getOriginalMessage()).split("\n")[0];
            int code = what.indexOf('`');
            if (code >= 0) {
                what = what.substring(0, code).replaceAll("[\\s:;(,]+$", "");
            }
            if (what.isBlank() || what.contains("com.fasterxml") || what.contains("jackson")) {
                what = "malformed JSON";
            }
        }
        JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 1 ? what : what + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }

    static byte[] write(Object o) {
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise response: " + e, e);
        }
    }
}
