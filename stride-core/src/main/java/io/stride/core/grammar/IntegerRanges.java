package io.stride.core.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * GBNF for the decimal integers in a range, without leading zeros: the range is cut at every change of digit count,
 * and a range of equal-length numbers becomes a shared prefix followed by at most three alternatives (the low edge,
 * the full middle digits, the high edge), recursively.
 */
final class IntegerRanges {
    private IntegerRanges() {}

    /** The integers in [lo, hi] (null: unbounded) as text: an optional minus sign and the digits. */
    static String range(Long lo, Long hi) {
        if (lo != null && hi != null && lo > hi) throw new GrammarException("empty integer range [" + lo + ", " + hi + "]");
        List<String> alts = new ArrayList<>();
        if (lo == null || lo < 0) {
            // negative part: "-" then magnitudes in [max(1, -hi), -lo]
            long magLo = hi == null || hi >= 0 ? 1 : -hi;
            Long magHi = lo == null ? null : -lo;
            alts.add("\"-\" " + group(nonNegative(magLo, magHi)));
        }
        if (hi == null || hi >= 0) {
            alts.add(group(nonNegative(lo == null || lo < 0 ? 0 : lo, hi)));
        }
        return alts.size() == 1 ? alts.getFirst() : "(" + String.join(" | ", alts) + ")";
    }

    private static String group(String s) {
        return s.contains("|") ? "(" + s + ")" : s;
    }

    /** Non-negative integers in [lo, hi] (hi null: unbounded) as alternatives joined by " | ". */
    static String nonNegative(long lo, Long hi) {
        List<String> alts = new ArrayList<>();
        int from = digits(lo);
        int to = hi == null ? 19 : digits(hi);
        for (int len = from; len <= to; len++) {
            long min = len == 1 ? 0 : pow10(len - 1);
            long max = len >= 19 ? Long.MAX_VALUE : pow10(len) - 1;
            long a = Math.max(lo, min);
            long b = hi == null ? max : Math.min(hi, max);
            if (a > b) continue;
            if (hi == null && len == from + 1 && a == min) {
                // every longer number: a nonzero digit then at least len - 1 digits
                alts.add("[1-9] [0-9]{" + (len - 1) + "," + 18 + "}");
                break;
            }
            alts.add(sameLength(Long.toString(a), Long.toString(b)));
        }
        return String.join(" | ", alts);
    }

    /** Numbers with the digits of a .. b, both of the same length. */
    private static String sameLength(String a, String b) {
        int n = a.length();
        if (n == 0) return "";
        if (a.equals(b)) return Gbnf.literal(a);
        if (a.charAt(0) == b.charAt(0)) {
            return Gbnf.literal(a.substring(0, 1)) + " " + group(sameLength(a.substring(1), b.substring(1)));
        }
        if (n == 1) return "[" + a + "-" + b + "]";
        String restA = a.substring(1), restB = b.substring(1);
        String nines = "9".repeat(n - 1), zeros = "0".repeat(n - 1);
        List<String> alts = new ArrayList<>();
        char lo = a.charAt(0), hi = b.charAt(0);
        if (restA.equals(zeros)) lo--;
        else alts.add(Gbnf.literal(String.valueOf(lo)) + " " + group(sameLength(restA, nines)));
        if (restB.equals(nines)) hi++;
        char midLo = (char) (lo + 1), midHi = (char) (hi - 1);
        if (midLo <= midHi) alts.add("[" + midLo + "-" + midHi + "] [0-9]{" + (n - 1) + "}");
        if (!restB.equals(nines)) alts.add(Gbnf.literal(String.valueOf(hi)) + " " + group(sameLength(zeros, restB)));
        return String.join(" | ", alts);
    }

    private static int digits(long v) {
        return Long.toString(v).length();
    }

    private static long pow10(int n) {
        long p = 1;
        for (int i = 0; i < n; i++) p *= 10;
        return p;
    }
}
