package io.stride.server;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where Jinjava's reading of a template differs from Python Jinja2's, the pieces that make published chat
 * templates render as Hugging Face's renderers do.
 */
final class JinjaPython {
    private JinjaPython() {}

    /** A tag ({@code {% %}} or {@code {{ }}}) and, inside it, string literals, which rewriting must not touch. */
    private static final Pattern TAG = Pattern.compile("\\{[{%].*?[%}]\\}", Pattern.DOTALL);
    private static final Pattern LITERAL = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"");
    /** {@code not x.y[z] is [not] test[(args)]}: Jinja2 reads it as {@code not (x is test)}, Jinjava as {@code (not x) is test}. */
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]]*\\])*(?:\\.[A-Za-z_]\\w*)*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*(?:\\([^()]*\\))?)");

    private static final Pattern FOR = Pattern.compile("^\\{%[-+]?\\s*for\\s+.+?\\s+in\\s+(.+?)\\s*(recursive\\s*)?[-+]?%}$", Pattern.DOTALL);
    private static final Pattern END_FOR = Pattern.compile("^\\{%[-+]?\\s*endfor\\b.*", Pattern.DOTALL);
    private static final Pattern LOOP_ITEM = Pattern.compile("\\bloop\\.(previtem|nextitem)\\b");

    /**
     * {@code source} with what Jinjava reads differently spelled out inside tags: {@code not x is test} as
     * {@code not (x is test)}, and {@code loop.previtem}/{@code loop.nextitem} (which Jinjava's loops lack) as the
     * neighbouring element of the loop's sequence, none at its ends. Loops with an inline {@code if} filter keep
     * the names, as their indices do not index the sequence.
     */
    static String rewrite(String source) {
        Matcher tags = TAG.matcher(source);
        StringBuilder out = new StringBuilder(source.length() + 64);
        java.util.ArrayDeque<String> loops = new java.util.ArrayDeque<>();
        int last = 0;
        while (tags.find()) {
            out.append(source, last, tags.start());
            String tag = tags.group();
            Matcher f = FOR.matcher(tag);
            String seq = loops.isEmpty() || loops.peek().isEmpty() ? null : loops.peek();
            out.append(rewriteTag(tag, seq));
            if (f.matches()) {
                String expr = f.group(1);
                loops.push(expr.matches(".*\\sif\\s.*") ? "" : expr);
            } else if (END_FOR.matcher(tag).matches() && !loops.isEmpty()) {
                loops.pop();
            }
            last = tags.end();
        }
        return out.append(source, last, source.length()).toString();
    }

    private static String rewriteTag(String tag, String loopSequence) {
        Matcher lit = LITERAL.matcher(tag);
        StringBuilder out = new StringBuilder(tag.length() + 8);
        int last = 0;
        while (lit.find()) {
            out.append(rewriteCode(tag.substring(last, lit.start()), loopSequence));
            out.append(lit.group());
            last = lit.end();
        }
        return out.append(rewriteCode(tag.substring(last), loopSequence)).toString();
    }

    private static String rewriteCode(String code, String loopSequence) {
        String s = NOT_IS.matcher(code).replaceAll("not ($1 is $2$3)");
        if (loopSequence == null) return s;
        return LOOP_ITEM.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1).equals("previtem")
                ? "(none if loop.first else (" + loopSequence + ")[loop.index0 - 1])"
                : "(none if loop.last else (" + loopSequence + ")[loop.index0 + 1])"));
    }

    /** {@code d|items}: the (key, value) pairs of a mapping, as Jinja2's {@code items} filter. */
    static final class ItemsFilter implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            List<Object> pairs = new ArrayList<>();
            if (var instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) pairs.add(new ArrayList<>(java.util.Arrays.asList(e.getKey(), e.getValue())));
            }
            return pairs;
        }
    }

    /** {@code x is iterable}: as in Python, strings are iterable too (templates test content with it). */
    static final class IterableTest implements ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof Iterable<?> || var instanceof Map<?, ?> || var instanceof CharSequence
                    || (var != null && var.getClass().isArray());
        }
    }
}
