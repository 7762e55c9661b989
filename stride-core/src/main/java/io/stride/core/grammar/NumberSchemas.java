package io.stride.core.grammar;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The numeric part of {@link JsonSchemaGrammar}. Unbounded numbers are JSON numbers (integers: no fraction or
 * exponent). Bounded integers are exact digit grammars ({@link IntegerRanges}). Bounded numbers are written without an
 * exponent: a value with integer part i in the open interval between the bounds may have any fraction; at a bound, the
 * fraction must keep it inside (all zeros at an inclusive upper magnitude, some nonzero digit above an exclusive lower
 * one). Bounds of numbers must be whole numbers.
 */
final class NumberSchemas {
    private NumberSchemas() {}

    static String number(JsonSchemaGrammar g, JsonNode s, boolean integer, String path) {
        boolean bounded = s.has("minimum") || s.has("maximum") || s.has("exclusiveMinimum") || s.has("exclusiveMaximum");
        if (!bounded) return g.rule(integer ? "integer" : "number");
        if (integer) {
            Long lo = null, hi = null;
            if (s.has("minimum")) lo = (long) Math.ceil(s.get("minimum").asDouble());
            if (s.has("exclusiveMinimum")) lo = max(lo, (long) Math.floor(s.get("exclusiveMinimum").asDouble()) + 1);
            if (s.has("maximum")) hi = (long) Math.floor(s.get("maximum").asDouble());
            if (s.has("exclusiveMaximum")) hi = min(hi, (long) Math.ceil(s.get("exclusiveMaximum").asDouble()) - 1);
            return "(" + IntegerRanges.range(lo, hi) + ")";
        }
        Long lo = whole(s, "minimum", path), hi = whole(s, "maximum", path);
        boolean loEx = false, hiEx = false;
        Long xlo = whole(s, "exclusiveMinimum", path), xhi = whole(s, "exclusiveMaximum", path);
        if (xlo != null && (lo == null || xlo >= lo)) {
            lo = xlo;
            loEx = true;
        }
        if (xhi != null && (hi == null || xhi <= hi)) {
            hi = xhi;
            hiEx = true;
        }
        if (lo != null && hi != null && (lo > hi || lo.equals(hi) && (loEx || hiEx))) {
            throw new GrammarException("number bounds at " + path + " admit no value");
        }
        StringBuilder alts = new StringBuilder();
        if (hi == null || hi > 0 || hi == 0 && !hiEx) {
            // non-negative values: magnitudes in [max(lo, 0), hi]
            boolean fromZero = lo == null || lo < 0;
            alts.append(magnitudes(fromZero ? 0 : lo, !fromZero && loEx, hi, hiEx));
        }
        if (lo == null || lo < 0) {
            // negative values: magnitudes in (0 or -hi, -lo]; below zero the bounds swap roles
            boolean fromZero = hi == null || hi >= 0;
            String neg = magnitudes(fromZero ? 0 : -hi, fromZero || hiEx, lo == null ? null : -lo, loEx);
            if (!alts.isEmpty()) alts.append(" | ");
            alts.append("\"-\" (").append(neg).append(")");
        }
        return "(" + alts + ")";
    }

    /**
     * Unsigned decimals m with a ≤ m ≤ b (strict where {@code aEx}/{@code bEx}; b null: unbounded), as alternatives:
     * the integer part strictly between, or equal to an end with a fraction that keeps m inside.
     */
    private static String magnitudes(long a, boolean aEx, Long b, boolean bEx) {
        String anyFraction = "(\".\" [0-9]{1,16})?";
        String nonzeroFraction = "\".\" [0-9]{0,15} [1-9] [0-9]{0,15}";
        String zeroFraction = "(\".\" \"0\"{1,16})?";
        StringBuilder sb = new StringBuilder();
        if (b != null && a == b) {
            return Gbnf.literal(Long.toString(a)) + " " + zeroFraction;
        }
        sb.append(Gbnf.literal(Long.toString(a))).append(" ").append(aEx ? nonzeroFraction : anyFraction);
        if (b == null || b - a > 1) {
            sb.append(" | (").append(IntegerRanges.nonNegative(a + 1, b == null ? null : b - 1)).append(") ").append(anyFraction);
        }
        if (b != null && !bEx) sb.append(" | ").append(Gbnf.literal(Long.toString(b))).append(" ").append(zeroFraction);
        return sb.toString();
    }

    private static Long whole(JsonNode s, String key, String path) {
        if (!s.has(key)) return null;
        double v = s.get(key).asDouble();
        if (v != Math.rint(v) || Math.abs(v) > 1e15) {
            throw new GrammarException(key + " " + s.get(key) + " (at " + path + ") must be a whole number for type number");
        }
        return (long) v;
    }

    private static Long max(Long a, long b) {
        return a == null ? b : Math.max(a, b);
    }

    private static Long min(Long a, long b) {
        return a == null ? b : Math.min(a, b);
    }
}
