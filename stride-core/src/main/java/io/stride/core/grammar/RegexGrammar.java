package io.stride.core.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Regular expressions (the ECMAScript subset JSON Schema's {@code pattern} uses) as a GBNF expression: literals,
 * escapes ({@code \d \w \s} and their negations, {@code \n \t \r \f \v \xHH \\uHHHH}, escaped punctuation), classes,
 * {@code .} (any character but a line break), groups ({@code (...)}, {@code (?:...)}), alternation and the
 * quantifiers {@code * + ? {m} {m,} {m,n}} (lazy forms match the same strings). {@code ^} and {@code $} are allowed
 * only at the ends. Back-references and look-around are refused. Each character class is written by
 * {@code charExpr}, so the caller chooses the encoding (plain text, or JSON string content).
 */
final class RegexGrammar {
    private final String re;
    private final Function<int[], String> charExpr;
    private int pos;

    private RegexGrammar(String re, Function<int[], String> charExpr) {
        this.re = re;
        this.charExpr = charExpr;
    }

    /**
     * The expression matching what {@code regex} matches. A search pattern (JSON Schema's meaning) is open at an end
     * without its anchor: {@code anyChar} (a GBNF element) is allowed any number of times there.
     */
    static String toGbnf(String regex, Function<int[], String> charExpr, boolean search, String anyChar) {
        String body = regex;
        boolean start = body.startsWith("^");
        if (start) body = body.substring(1);
        boolean end = body.endsWith("$") && !body.endsWith("\\$");
        if (end) body = body.substring(0, body.length() - 1);
        RegexGrammar p = new RegexGrammar(body, charExpr);
        String expr = p.alternation();
        if (p.pos < body.length()) throw p.error("unexpected '" + body.charAt(p.pos) + "'");
        StringBuilder sb = new StringBuilder();
        if (search && !start) sb.append(anyChar).append("* ");
        sb.append("(").append(expr).append(")");
        if (search && !end) sb.append(" ").append(anyChar).append("*");
        return sb.toString();
    }

    private String alternation() {
        List<String> alts = new ArrayList<>();
        alts.add(sequence());
        while (pos < re.length() && re.charAt(pos) == '|') {
            pos++;
            alts.add(sequence());
        }
        return String.join(" | ", alts);
    }

    private String sequence() {
        StringBuilder sb = new StringBuilder();
        while (pos < re.length() && re.charAt(pos) != '|' && re.charAt(pos) != ')') {
            String atom = atom();
            atom += quantifier();
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(atom);
        }
        return sb.isEmpty() ? "\"\"" : sb.toString();
    }

    private String atom() {
        char c = re.charAt(pos);
        switch (c) {
            case '(' -> {
                pos++;
                if (re.startsWith("?:", pos)) pos += 2;
                else if (pos < re.length() && re.charAt(pos) == '?') throw error("look-around and named groups are not supported");
                String inner = alternation();
                if (pos >= re.length() || re.charAt(pos) != ')') throw error("unbalanced '('");
                pos++;
                return "(" + inner + ")";
            }
            case '[' -> {
                pos++;
                return "(" + charExpr.apply(charClass()) + ")";
            }
            case '.' -> {
                pos++;
                return "(" + charExpr.apply(Utf8Ranges.complement(new int[]{'\n', '\n', '\r', '\r', 0x2028, 0x2029})) + ")";
            }
            case '*', '+', '?', '{' -> throw error("'" + c + "' has nothing to repeat");
            case '^', '$' -> throw error("anchors are supported only at the start and end of the pattern");
            case '\\' -> {
                pos++;
                int[] set = escape(false);
                return "(" + charExpr.apply(set) + ")";
            }
            default -> {
                int cp = re.codePointAt(pos);
                pos += Character.charCount(cp);
                return "(" + charExpr.apply(new int[]{cp, cp}) + ")";
            }
        }
    }

    private String quantifier() {
        if (pos >= re.length()) return "";
        char c = re.charAt(pos);
        String q;
        if (c == '*' || c == '+' || c == '?') {
            pos++;
            q = String.valueOf(c);
        } else if (c == '{' && pos + 1 < re.length() && Character.isDigit(re.charAt(pos + 1))) {
            int close = re.indexOf('}', pos);
            if (close < 0) throw error("unterminated '{'");
            String body = re.substring(pos + 1, close);
            if (!body.matches("\\d{1,5}(,\\d{0,5})?")) throw error("bad repetition {" + body + "}");
            pos = close + 1;
            q = "{" + body + "}";
        } else {
            return "";
        }
        if (pos < re.length() && re.charAt(pos) == '?') pos++; // lazy: the same strings
        if (pos < re.length() && (re.charAt(pos) == '*' || re.charAt(pos) == '+')) throw error("possessive or doubled quantifiers are not supported");
        return q;
    }

    /** The ranges of a class body after '['. */
    private int[] charClass() {
        boolean negated = pos < re.length() && re.charAt(pos) == '^';
        if (negated) pos++;
        List<Integer> r = new ArrayList<>();
        while (pos < re.length() && re.charAt(pos) != ']') {
            int[] lo = classAtom();
            if (lo.length == 2 && lo[0] == lo[1] && pos + 1 < re.length() && re.charAt(pos) == '-' && re.charAt(pos + 1) != ']') {
                pos++;
                int[] hi = classAtom();
                if (hi.length != 2 || hi[0] != hi[1] || hi[0] < lo[0]) throw error("bad character range");
                r.add(lo[0]);
                r.add(hi[0]);
            } else {
                for (int v : lo) r.add(v);
            }
        }
        if (pos >= re.length()) throw error("unterminated '['");
        pos++;
        int[] ranges = r.stream().mapToInt(Integer::intValue).toArray();
        ranges = negated ? Utf8Ranges.complement(ranges) : Utf8Ranges.normalize(ranges);
        if (ranges.length == 0) throw error("character class matches nothing");
        return ranges;
    }

    private int[] classAtom() {
        if (re.charAt(pos) == '\\') {
            pos++;
            return escape(true);
        }
        int cp = re.codePointAt(pos);
        pos += Character.charCount(cp);
        return new int[]{cp, cp};
    }

    /** The ranges of the escape after a backslash. */
    private int[] escape(boolean inClass) {
        if (pos >= re.length()) throw error("pattern ends with '\\'");
        char e = re.charAt(pos++);
        int[] digit = {'0', '9'};
        int[] word = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
        int[] space = {'\t', '\r', ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};
        return switch (e) {
            case 'd' -> digit;
            case 'D' -> Utf8Ranges.complement(digit);
            case 'w' -> word;
            case 'W' -> Utf8Ranges.complement(word);
            case 's' -> Utf8Ranges.normalize(space);
            case 'S' -> Utf8Ranges.complement(space);
            case 'n' -> one('\n');
            case 't' -> one('\t');
            case 'r' -> one('\r');
            case 'f' -> one('\f');
            case 'v' -> one(0x0B);
            case '0' -> one(0);
            case 'x' -> one(hex(2));
            case 'u' -> one(hex(4));
            case 'b' -> {
                if (inClass) yield one('\b');
                throw error("word boundaries (\\b) are not supported");
            }
            default -> {
                if (Character.isLetterOrDigit(e)) throw error("escape '\\" + e + "' is not supported");
                yield one(e);
            }
        };
    }

    private static int[] one(int c) {
        return new int[]{c, c};
    }

    private int hex(int n) {
        if (pos + n > re.length()) throw error("expected " + n + " hex digits");
        try {
            int v = Integer.parseInt(re.substring(pos, pos + n), 16);
            pos += n;
            return v;
        } catch (NumberFormatException ex) {
            throw error("expected " + n + " hex digits");
        }
    }

    private GrammarException error(String message) {
        return new GrammarException("pattern /" + re + "/ at " + pos + ": " + message);
    }
}
