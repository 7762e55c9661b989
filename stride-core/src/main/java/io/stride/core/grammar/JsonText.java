package io.stride.core.grammar;

import java.util.ArrayList;
import java.util.List;

/** How characters are written inside a JSON string, as GBNF: the character itself, or its escape. */
final class JsonText {
    private JsonText() {}

    /** A GBNF expression for one character of {@code ranges} as it may appear inside a JSON string literal. */
    static String charExpr(int[] ranges) {
        List<String> alts = new ArrayList<>();
        int[] plain = subtract(ranges, new int[]{0, 0x1F, '"', '"', '\\', '\\'});
        if (plain.length > 0) alts.add(Gbnf.charClass(plain));
        if (contains(ranges, '"')) alts.add(Gbnf.literal("\\\""));
        if (contains(ranges, '\\')) alts.add(Gbnf.literal("\\\\"));
        if (contains(ranges, '/')) alts.add(Gbnf.literal("\\/"));
        for (int c = 0; c < 0x20; c++) {
            if (!contains(ranges, c)) continue;
            String shortForm = switch (c) {
                case '\n' -> "\\n";
                case '\t' -> "\\t";
                case '\r' -> "\\r";
                case '\b' -> "\\b";
                case '\f' -> "\\f";
                default -> null;
            };
            if (shortForm != null) alts.add(Gbnf.literal(shortForm));
            alts.add(Gbnf.literal("\\u00" + (c >> 4)) + " " + hexDigit(c & 15));
        }
        return String.join(" | ", alts);
    }

    private static String hexDigit(int d) {
        char lower = Character.forDigit(d, 16);
        char upper = Character.toUpperCase(lower);
        return lower == upper ? Gbnf.literal(String.valueOf(lower)) : "[" + lower + upper + "]";
    }

    static boolean contains(int[] ranges, int c) {
        for (int i = 0; i < ranges.length; i += 2) if (ranges[i] <= c && c <= ranges[i + 1]) return true;
        return false;
    }

    /** Normalized {@code a} minus {@code b}. */
    static int[] subtract(int[] a, int[] b) {
        int[] notB = Utf8Ranges.complement(b);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < a.length; i += 2) {
            for (int j = 0; j < notB.length; j += 2) {
                int lo = Math.max(a[i], notB[j]), hi = Math.min(a[i + 1], notB[j + 1]);
                if (lo <= hi) {
                    out.add(lo);
                    out.add(hi);
                }
            }
        }
        return Utf8Ranges.normalize(out.stream().mapToInt(Integer::intValue).toArray());
    }
}
