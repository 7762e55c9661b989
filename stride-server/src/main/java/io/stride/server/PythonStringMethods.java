package io.stride.server;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Python's string methods ({@code s.startswith('x')}, {@code s.upper()}, {@code ', '.join(xs)}, ...) for Jinja
 * expressions: published chat templates call them, Jinjava only knows Java's. Resolves a call when its base is a
 * string and the name is one of these methods; everything else goes to the next resolver.
 */
final class PythonStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof CharSequence cs) || method == null) return null;
        String s = cs.toString();
        Object[] p = params == null ? new Object[0] : params;
        Object out = call(s, method.toString(), p);
        if (out != NONE) context.setPropertyResolved(true);
        return out == NONE ? null : out;
    }

    private static final Object NONE = new Object();

    private static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "startswith" -> p.length == 1 ? anyOf(p[0], s::startsWith) : NONE;
            case "endswith" -> p.length == 1 ? anyOf(p[0], s::endsWith) : NONE;
            case "upper" -> p.length == 0 ? s.toUpperCase(Locale.ROOT) : NONE;
            case "lower" -> p.length == 0 ? s.toLowerCase(Locale.ROOT) : NONE;
            case "capitalize" -> p.length == 0 ? (s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT)
                    + s.substring(1).toLowerCase(Locale.ROOT)) : NONE;
            case "strip" -> p.length <= 1 ? strip(s, chars(p), true, true) : NONE;
            case "lstrip" -> p.length <= 1 ? strip(s, chars(p), true, false) : NONE;
            case "rstrip" -> p.length <= 1 ? strip(s, chars(p), false, true) : NONE;
            case "replace" -> p.length == 2 ? s.replace(str(p[0]), str(p[1])) : NONE;
            case "removeprefix" -> p.length == 1 ? (s.startsWith(str(p[0])) ? s.substring(str(p[0]).length()) : s) : NONE;
            case "removesuffix" -> p.length == 1 ? (s.endsWith(str(p[0])) ? s.substring(0, s.length() - str(p[0]).length()) : s) : NONE;
            case "find" -> p.length == 1 ? (long) s.indexOf(str(p[0])) : NONE;
            case "count" -> p.length == 1 ? count(s, str(p[0])) : NONE;
            case "join" -> p.length == 1 && p[0] instanceof Iterable<?> it ? join(s, it) : NONE;
            case "split" -> p.length <= 1 ? split(s, p.length == 0 || p[0] == null ? null : str(p[0])) : NONE;
            case "isdigit" -> p.length == 0 ? !s.isEmpty() && s.chars().allMatch(Character::isDigit) : NONE;
            case "isspace" -> p.length == 0 ? !s.isEmpty() && s.chars().allMatch(Character::isWhitespace) : NONE;
            default -> NONE;
        };
    }

    private static boolean anyOf(Object arg, java.util.function.Predicate<String> test) {
        if (arg instanceof Iterable<?> it) {
            for (Object o : it) if (test.test(str(o))) return true;
            return false;
        }
        return test.test(str(arg));
    }

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    private static String chars(Object[] p) {
        return p.length == 0 || p[0] == null ? null : str(p[0]);
    }

    /** Python's strip: {@code chars} null strips whitespace. */
    private static String strip(String s, String chars, boolean left, boolean right) {
        int a = 0;
        int b = s.length();
        while (left && a < b && (chars == null ? Character.isWhitespace(s.charAt(a)) : chars.indexOf(s.charAt(a)) >= 0)) a++;
        while (right && b > a && (chars == null ? Character.isWhitespace(s.charAt(b - 1)) : chars.indexOf(s.charAt(b - 1)) >= 0)) b--;
        return s.substring(a, b);
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        long n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
        return n;
    }

    private static String join(String sep, Iterable<?> items) {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object o : items) {
            if (!first) sb.append(sep);
            sb.append(str(o));
            first = false;
        }
        return sb.toString();
    }

    /** Python's split: {@code sep} null splits on runs of whitespace and drops empty parts. */
    private static List<String> split(String s, String sep) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            for (String part : s.strip().split("\\s+")) if (!part.isEmpty()) out.add(part);
            return out;
        }
        int from = 0;
        for (int i = s.indexOf(sep); i >= 0 && !sep.isEmpty(); i = s.indexOf(sep, from)) {
            out.add(s.substring(from, i));
            from = i + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
