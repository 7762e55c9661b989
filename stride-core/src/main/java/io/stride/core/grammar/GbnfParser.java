package io.stride.core.grammar;

import io.stride.core.grammar.Rules.Chars;
import io.stride.core.grammar.Rules.Ref;
import io.stride.core.grammar.Rules.Sym;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses llama.cpp's GBNF: {@code name ::= alternatives} rules, {@code "literals"}, {@code [character classes]} (with
 * {@code ^} and ranges), {@code .}, rule names, {@code ( groups )}, the postfix operators {@code * + ?} and
 * {@code {m} {m,} {m,n} {,n}}, {@code #} comments; escapes {@code \n \r \t \\ \" \[ \] \- \xHH \\uHHHH \UHHHHHHHH}.
 * An alternative ends at the end of its line unless it is inside parentheses or continues after {@code |}.
 */
final class GbnfParser {
    /** most copies one bounded repetition may expand to */
    static final int MAX_REPEAT = 10_000;
    private final String src;
    private final Rules rules = new Rules();
    private int pos;

    private GbnfParser(String src) {
        this.src = src;
    }

    static Rules parse(String gbnf) {
        GbnfParser p = new GbnfParser(gbnf);
        p.grammar();
        return p.rules;
    }

    private void grammar() {
        // every defined name first, so auxiliary names made while parsing never take one defined further down
        var defined = java.util.regex.Pattern.compile("(?m)^[ \\t]*([a-zA-Z0-9_-]+)[ \\t]*::=").matcher(src);
        while (defined.find()) rules.id(defined.group(1));
        space(true);
        while (pos < src.length()) {
            int at = pos;
            String name = name();
            space(false);
            if (!src.startsWith("::=", pos)) throw error("expected '::=' after rule name '" + name + "'");
            pos += 3;
            space(true);
            int id = rules.id(name);
            if (rules.defs.get(id) != null) throw error(at, "rule '" + name + "' is defined twice");
            rules.define(id, alternatives(name, false));
            if (pos < src.length() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
                throw error("unexpected '" + src.charAt(pos) + "'");
            }
            space(true);
        }
    }

    private List<List<Sym>> alternatives(String rule, boolean nested) {
        List<List<Sym>> alts = new ArrayList<>();
        alts.add(sequence(rule, nested));
        while (pos < src.length() && src.charAt(pos) == '|') {
            pos++;
            space(true);
            alts.add(sequence(rule, nested));
        }
        return alts;
    }

    private List<Sym> sequence(String rule, boolean nested) {
        List<Sym> seq = new ArrayList<>();
        int last = -1;
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '"') {
                pos++;
                last = seq.size();
                while (pos < src.length() && src.charAt(pos) != '"') {
                    int cp = character();
                    seq.add(new Chars(new int[]{cp, cp}));
                }
                expect('"', "unterminated string literal");
            } else if (c == '[') {
                pos++;
                last = seq.size();
                seq.add(characterClass());
            } else if (c == '.') {
                pos++;
                last = seq.size();
                seq.add(new Chars(Utf8Ranges.normalize(new int[]{0, Utf8Ranges.MAX})));
            } else if (isWordChar(c)) {
                last = seq.size();
                seq.add(new Ref(rules.id(name())));
            } else if (c == '(') {
                pos++;
                space(true);
                int aux = rules.fresh(rule);
                rules.define(aux, alternatives(rule, true));
                expect(')', "expected ')'");
                last = seq.size();
                seq.add(new Ref(aux));
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (last < 0) throw error("'" + c + "' has nothing before it to repeat");
                int[] bounds = bounds();
                repeat(seq, last, bounds[0], bounds[1], rule);
                last = -1;
            } else if (c == '<') {
                throw error("token references (<...>) are not supported; write the token's text as a literal");
            } else {
                break;
            }
            space(nested);
        }
        return seq;
    }

    /** [min, max] of the repetition operator at pos (max -1: unbounded). */
    private int[] bounds() {
        char c = src.charAt(pos++);
        if (c == '*') return new int[]{0, -1};
        if (c == '+') return new int[]{1, -1};
        if (c == '?') return new int[]{0, 1};
        space(false);
        int min = number(0);
        int max = min;
        space(false);
        if (pos < src.length() && src.charAt(pos) == ',') {
            pos++;
            space(false);
            max = pos < src.length() && Character.isDigit(src.charAt(pos)) ? number(0) : -1;
            space(false);
        }
        expect('}', "expected '}' to close a repetition");
        if (max >= 0 && max < min) throw error("repetition {" + min + "," + max + "} has max < min");
        if (Math.max(min, max) > MAX_REPEAT) throw error("repetition bound over " + MAX_REPEAT);
        return new int[]{min, max};
    }

    private int number(int dflt) {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        if (start == pos) return dflt;
        if (pos - start > 6) throw error("repetition bound over " + MAX_REPEAT);
        return Integer.parseInt(src.substring(start, pos));
    }

    /** Replaces seq[last ..] by min copies of itself followed by up to max - min optional ones (or a star). */
    private void repeat(List<Sym> seq, int last, int min, int max, String rule) {
        List<Sym> item = new ArrayList<>(seq.subList(last, seq.size()));
        seq.subList(last, seq.size()).clear();
        if (item.size() > 1) {
            int aux = rules.fresh(rule);
            rules.define(aux, List.of(item));
            item = List.of(new Ref(aux));
        }
        for (int i = 0; i < min; i++) seq.addAll(item);
        if (max < 0) {
            int star = rules.fresh(rule);
            List<Sym> more = new ArrayList<>(item);
            more.add(new Ref(star));
            rules.define(star, List.of(more, List.of()));
            seq.add(new Ref(star));
            return;
        }
        Integer inner = null;
        for (int i = min; i < max; i++) {
            int opt = rules.fresh(rule);
            List<Sym> one = new ArrayList<>(item);
            if (inner != null) one.add(new Ref(inner));
            rules.define(opt, List.of(one, List.of()));
            inner = opt;
        }
        if (inner != null) seq.add(new Ref(inner));
    }

    private Chars characterClass() {
        boolean negated = pos < src.length() && src.charAt(pos) == '^';
        if (negated) pos++;
        List<Integer> ranges = new ArrayList<>();
        while (pos < src.length() && src.charAt(pos) != ']') {
            int lo = character();
            int hi = lo;
            if (pos + 1 < src.length() && src.charAt(pos) == '-' && src.charAt(pos + 1) != ']') {
                pos++;
                hi = character();
                if (hi < lo) throw error("character range is backwards");
            }
            ranges.add(lo);
            ranges.add(hi);
        }
        expect(']', "unterminated character class");
        int[] r = ranges.stream().mapToInt(Integer::intValue).toArray();
        r = negated ? Utf8Ranges.complement(r) : Utf8Ranges.normalize(r);
        if (r.length == 0) throw error("character class matches nothing");
        return new Chars(r);
    }

    private int character() {
        if (pos >= src.length()) throw error("unexpected end of grammar");
        int cp = src.codePointAt(pos);
        pos += Character.charCount(cp);
        if (cp != '\\') return cp;
        if (pos >= src.length()) throw error("unexpected end of grammar after '\\'");
        char e = src.charAt(pos++);
        return switch (e) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case '\\', '"', '[', ']', '-', '/' -> e;
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            default -> throw error("unknown escape '\\" + e + "'");
        };
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) throw error("expected " + digits + " hex digits");
        try {
            int v = Integer.parseUnsignedInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            if (v > Utf8Ranges.MAX || v < 0) throw error("code point out of range");
            return v;
        } catch (NumberFormatException ex) {
            throw error("expected " + digits + " hex digits");
        }
    }

    private String name() {
        int start = pos;
        while (pos < src.length() && isWordChar(src.charAt(pos))) pos++;
        if (start == pos) throw error("expected a rule name");
        return src.substring(start, pos);
    }

    private static boolean isWordChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_';
    }

    /** Skips blanks and comments; newlines too when {@code newlines}. */
    private void space(boolean newlines) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n') pos++;
            } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
                pos++;
            } else {
                break;
            }
        }
    }

    private void expect(char c, String message) {
        if (pos >= src.length() || src.charAt(pos) != c) throw error(message);
        pos++;
    }

    private GrammarException error(String message) {
        return error(pos, message);
    }

    private GrammarException error(int at, String message) {
        int line = 1, col = 1;
        for (int i = 0; i < Math.min(at, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new GrammarException("grammar error at line " + line + ", column " + col + ": " + message);
    }
}
