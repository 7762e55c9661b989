package io.stride.core.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets of Unicode scalar values as sets of UTF-8 byte sequences: every range of code points becomes a few sequences
 * of byte ranges ({@code [lo0-hi0][lo1-hi1]...}) that match exactly the encodings of the code points in it. This is
 * what lets the grammar engine match bytes (token pieces may end inside a character) while grammars speak characters.
 */
final class Utf8Ranges {
    static final int MAX = 0x10FFFF;
    private static final int[] LENGTH_MAX = {0x7F, 0x7FF, 0xFFFF, MAX};

    private Utf8Ranges() {}

    /** Sorted, merged, non-overlapping inclusive ranges (pairs) of {@code ranges}, surrogates removed. */
    static int[] normalize(int[] ranges) {
        List<int[]> list = new ArrayList<>();
        for (int i = 0; i < ranges.length; i += 2) {
            int lo = Math.max(0, ranges[i]), hi = Math.min(MAX, ranges[i + 1]);
            if (lo > hi) continue;
            // surrogates are not scalar values and have no UTF-8 encoding
            if (lo < 0xD800 && hi > 0xDFFF) {
                list.add(new int[]{lo, 0xD7FF});
                list.add(new int[]{0xE000, hi});
            } else if (lo >= 0xD800 && hi <= 0xDFFF) {
                continue;
            } else if (lo >= 0xD800 && lo <= 0xDFFF) {
                list.add(new int[]{0xE000, hi});
            } else if (hi >= 0xD800 && hi <= 0xDFFF) {
                list.add(new int[]{lo, 0xD7FF});
            } else {
                list.add(new int[]{lo, hi});
            }
        }
        list.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : list) {
            if (!merged.isEmpty() && r[0] <= merged.getLast()[1] + 1) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], r[1]);
            } else {
                merged.add(r);
            }
        }
        int[] out = new int[merged.size() * 2];
        for (int i = 0; i < merged.size(); i++) {
            out[2 * i] = merged.get(i)[0];
            out[2 * i + 1] = merged.get(i)[1];
        }
        return out;
    }

    /** The complement of normalized {@code ranges} within the scalar values. */
    static int[] complement(int[] ranges) {
        int[] n = normalize(ranges);
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < n.length; i += 2) {
            if (n[i] > next) {
                out.add(next);
                out.add(n[i] - 1);
            }
            next = n[i + 1] + 1;
        }
        if (next <= MAX) {
            out.add(next);
            out.add(MAX);
        }
        return normalize(out.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The byte sequences of normalized {@code ranges}: each element is {@code [lo0, hi0, lo1, hi1, ...]}, one byte range
     * per position; together they match exactly the UTF-8 encodings of the code points in the ranges.
     */
    static List<int[]> sequences(int[] ranges) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < ranges.length; i += 2) {
            split(ranges[i], ranges[i + 1], out);
        }
        return out;
    }

    private static void split(int lo, int hi, List<int[]> out) {
        for (int max : LENGTH_MAX) {
            if (lo <= max && hi > max) {
                split(lo, max, out);
                split(max + 1, hi, out);
                return;
            }
        }
        int n = length(lo);
        // make every continuation position span its full range (0x80..0xBF) except where lo and hi share a prefix
        for (int i = 1; i < n; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo), b = encode(hi);
        int[] seq = new int[2 * n];
        for (int i = 0; i < n; i++) {
            seq[2 * i] = a[i] & 0xFF;
            seq[2 * i + 1] = b[i] & 0xFF;
        }
        out.add(seq);
    }

    static int length(int cp) {
        return cp <= 0x7F ? 1 : cp <= 0x7FF ? 2 : cp <= 0xFFFF ? 3 : 4;
    }

    static byte[] encode(int cp) {
        return new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
