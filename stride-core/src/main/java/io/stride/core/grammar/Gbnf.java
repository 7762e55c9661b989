package io.stride.core.grammar;

/** Writing GBNF text: literals and character classes with everything that needs it escaped. */
final class Gbnf {
    private Gbnf() {}

    /** {@code text} as a GBNF string literal. */
    static String literal(String text) {
        StringBuilder sb = new StringBuilder("\"");
        text.codePoints().forEach(c -> {
            if (c == '"' || c == '\\') sb.append('\\').appendCodePoint(c);
            else if (c < 0x20 || c == 0x7F) sb.append(String.format("\\x%02X", c));
            else sb.appendCodePoint(c);
        });
        return sb.append('"').toString();
    }

    /** A character class of the inclusive code-point ranges (pairs, non-empty). */
    static String charClass(int[] ranges) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ranges.length; i += 2) {
            classChar(sb, ranges[i]);
            if (ranges[i + 1] != ranges[i]) {
                sb.append('-');
                classChar(sb, ranges[i + 1]);
            }
        }
        return sb.append(']').toString();
    }

    private static void classChar(StringBuilder sb, int c) {
        if (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ' ' || c == '_' || c == '.' || c == ',') {
            sb.appendCodePoint(c);
        } else if (c <= 0xFF) {
            sb.append(String.format("\\x%02X", c));
        } else if (c <= 0xFFFF) {
            sb.append(String.format("\\u%04X", c));
        } else {
            sb.append(String.format("\\U%08X", c));
        }
    }
}
