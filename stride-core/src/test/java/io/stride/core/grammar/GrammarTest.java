package io.stride.core.grammar;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** GBNF parsing and byte-level matching: what a grammar accepts, what it refuses, and the errors for bad grammars. */
class GrammarTest {
    static boolean matches(Grammar g, String text) {
        Stack[] s = Parses.advance(g, Parses.start(g), text.getBytes(StandardCharsets.UTF_8));
        return Parses.canEnd(s);
    }

    /** Whether {@code text} is a prefix of some sentence (the parse is still alive). */
    static boolean alive(Grammar g, String text) {
        return Parses.advance(g, Parses.start(g), text.getBytes(StandardCharsets.UTF_8)).length > 0;
    }

    @Test
    void literalsClassesGroupsAndRepetition() {
        Grammar g = Grammar.parse("""
                # a comment
                root ::= "ab" [0-9]+ ("x" | "yz")? tail{2,3}
                tail ::= [^a-c\\n]
                """);
        assertThat(matches(g, "ab1dd")).isTrue();
        assertThat(matches(g, "ab123xdde")).isTrue();
        assertThat(matches(g, "ab9yzzzz")).isTrue();
        assertThat(matches(g, "ab9yzzzzz")).isFalse();
        assertThat(matches(g, "abdd")).isFalse();
        assertThat(matches(g, "ab1ad")).isFalse();
        assertThat(matches(g, "ab1d")).isFalse();
        assertThat(alive(g, "ab1d")).isTrue();
    }

    @Test
    void charactersBeyondAsciiMatchTheirUtf8Bytes() {
        Grammar g = Grammar.parse("root ::= [α-ω]+ \"€\" [^a-z]");
        assertThat(matches(g, "βγ€😀")).isTrue();
        assertThat(matches(g, "βγ€Ж")).isTrue();
        assertThat(matches(g, "βγ€b")).isFalse();
        assertThat(matches(g, "Ωγ€1")).isFalse();
        // a prefix ending inside a character is alive; a wrong continuation byte is not
        byte[] beta = "β".getBytes(StandardCharsets.UTF_8);
        assertThat(Parses.advance(g, Parses.start(g), new byte[]{beta[0]})).isNotEmpty();
        assertThat(Parses.advance(g, Parses.start(g), new byte[]{beta[0], (byte) 0x20})).isEmpty();
    }

    @Test
    void dotMatchesAnyCharacterAndEscapesWork() {
        Grammar g = Grammar.parse("root ::= . \"\\x41\\u00e9\\t\\\"\" [\\]\\\\]");
        assertThat(matches(g, "😀Aé\t\"]")).isTrue();
        assertThat(matches(g, "zAé\t\"\\")).isTrue();
        assertThat(matches(g, "zAé\t\"x")).isFalse();
    }

    @Test
    void recursionAndEmptyAlternatives() {
        Grammar g = Grammar.parse("""
                root ::= list
                list ::= "[" (item ("," item)*)? "]"
                item ::= [0-9] | list
                """);
        assertThat(matches(g, "[]")).isTrue();
        assertThat(matches(g, "[1,[2,[]],3]")).isTrue();
        assertThat(matches(g, "[1,]")).isFalse();
        Grammar empty = Grammar.parse("root ::= \"a\" |");
        assertThat(matches(empty, "")).isTrue();
        assertThat(matches(empty, "a")).isTrue();
    }

    @Test
    void badGrammarsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> Grammar.parse("root ::= foo")).hasMessageContaining("'foo' is used but never defined");
        assertThatThrownBy(() -> Grammar.parse("start ::= \"a\"")).hasMessageContaining("no 'root'");
        assertThatThrownBy(() -> Grammar.parse("root ::= root \"a\" | \"b\"")).hasMessageContaining("left recursion");
        assertThatThrownBy(() -> Grammar.parse("root ::= (\"a\"?)*")).hasMessageContaining("left recursion");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"abc")).hasMessageContaining("line 1").hasMessageContaining("unterminated");
        assertThatThrownBy(() -> Grammar.parse("root ::= [a-")).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"a\"\nroot ::= \"b\"")).hasMessageContaining("defined twice");
        assertThatThrownBy(() -> Grammar.parse("root ::= * \"a\"")).hasMessageContaining("nothing before it");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"a\"{3,1}")).hasMessageContaining("max < min");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"\\q\"")).hasMessageContaining("unknown escape");
        assertThatThrownBy(() -> Grammar.parse("root ::= [^\\x00-\\U0010FFFF]")).hasMessageContaining("matches nothing");
        assertThatThrownBy(() -> Grammar.parse("root = \"a\"")).hasMessageContaining("'::='");
    }

    @Test
    void integerRangesMatchExactlyTheirIntegers() {
        long[][] ranges = {{-37, 512}, {0, 9}, {10, 99}, {5, Long.MIN_VALUE}, {Long.MIN_VALUE, -3}, {-1000, -999}, {7, 7}, {99, 1001}, {0, 0}};
        for (long[] r : ranges) {
            Long lo = r[0] == Long.MIN_VALUE ? null : r[0];
            Long hi = r[1] == Long.MIN_VALUE ? null : r[1];
            Grammar g = Grammar.parse("root ::= " + IntegerRanges.range(lo, hi));
            for (long v = -1200; v <= 1200; v++) {
                boolean in = (lo == null || v >= lo) && (hi == null || v <= hi);
                assertThat(matches(g, Long.toString(v))).as("%d in [%s, %s]", v, lo, hi).isEqualTo(in);
            }
            assertThat(matches(g, "007")).isFalse();
            assertThat(matches(g, "-0")).isFalse();
        }
    }

    @Test
    void regexPatternsMatchWhatJavaRegexMatches() {
        String[] patterns = {"^[a-z]+@[a-z]+\\.(com|org)$", "^\\d{3}-\\d{4}$", "^(ab|cd)*e?$", "^[^\\s]{2,4}$", "^\\w+\\.java$", "^a.c$"};
        String[] inputs = {"joe@x.com", "joe@x.net", "555-1234", "55-1234", "", "abcdab", "abcde", "e", "ab e", "abc", "a b",
                "xyz1", "Main.java", "Main_2.java", "a.java", "abc", "a\nc", "aéc", "a😀c", "Ab@c.org"};
        for (String p : patterns) {
            Grammar g = Grammar.parse("root ::= " + RegexGrammar.toGbnf(p, Gbnf::charClass, false, null));
            for (String in : inputs) {
                assertThat(matches(g, in)).as("/%s/ on %s", p, in).isEqualTo(Pattern.compile(p).matcher(in).matches());
            }
        }
        assertThatThrownBy(() -> RegexGrammar.toGbnf("(?=a)b", Gbnf::charClass, false, null)).hasMessageContaining("look-around");
        assertThatThrownBy(() -> RegexGrammar.toGbnf("(a)\\1", Gbnf::charClass, false, null)).hasMessageContaining("not supported");
    }
}
