package io.stride.core.grammar;

import io.stride.core.grammar.Rules.Chars;
import io.stride.core.grammar.Rules.Ref;
import io.stride.core.grammar.Rules.Sym;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A grammar compiled to bytes: every rule's alternatives laid out in one array ({@link #code}), an element being a
 * byte set (index ≥ 0 into {@link #sets}), a rule reference ({@code -(rule + 2)}) or {@link #END} after each
 * alternative. Characters outside ASCII became auxiliary rules of UTF-8 byte-range sequences ({@link Utf8Ranges}), so
 * matching is byte by byte. Positions are indexes into {@link #code}. Immutable; checked at compile time: every rule
 * defined, a {@code root}, no left recursion (which would make expansion loop).
 */
public final class Grammar {
    static final int END = -1;
    /** most positions a grammar may have (bounds compile time and memory per grammar) */
    static final int MAX_POSITIONS = 200_000;

    final int[] code;
    /** alternatives' start positions per rule */
    final int[][] alternatives;
    /** byte sets, four longs each */
    final long[] sets;
    final String[] names;
    final int root;
    /** the rule each position belongs to */
    private final int[] ruleAt;

    private Grammar(int[] code, int[][] alternatives, long[] sets, String[] names, int root) {
        this.code = code;
        this.alternatives = alternatives;
        this.sets = sets;
        this.names = names;
        this.root = root;
        this.ruleAt = new int[code.length];
        for (int r = 0; r < alternatives.length; r++) {
            for (int start : alternatives[r]) {
                for (int p = start; ; p++) {
                    ruleAt[p] = r;
                    if (code[p] == END) break;
                }
            }
        }
    }

    int ruleAt(int pos) {
        return ruleAt[pos];
    }

    /** Parses and compiles GBNF (start rule {@code root}). */
    public static Grammar parse(String gbnf) {
        return compile(GbnfParser.parse(gbnf));
    }

    int positions() {
        return code.length;
    }

    boolean terminal(int pos) {
        return code[pos] >= 0;
    }

    boolean matches(int pos, int b) {
        int s = code[pos];
        return (sets[4 * s + (b >>> 6)] >>> (b & 63) & 1L) != 0;
    }

    /** ORs the byte set of terminal position {@code pos} into {@code into} (four longs). */
    void orSet(int pos, long[] into) {
        int s = code[pos];
        for (int i = 0; i < 4; i++) into[i] |= sets[4 * s + i];
    }

    static boolean isRef(int element) {
        return element < END;
    }

    static int ruleOf(int element) {
        return -element - 2;
    }

    static Grammar compile(Rules rules) {
        if (!rules.has("root")) throw new GrammarException("grammar has no 'root' rule");
        for (int r = 0; r < rules.size(); r++) {
            if (rules.defs.get(r) == null) throw new GrammarException("rule '" + rules.names.get(r) + "' is used but never defined");
        }
        List<String> names = new ArrayList<>(rules.names);
        List<List<int[]>> defs = new ArrayList<>();
        List<long[]> sets = new ArrayList<>();
        Map<String, Integer> setIds = new HashMap<>();
        Map<String, Integer> charRules = new HashMap<>();
        for (int r = 0; r < rules.size(); r++) defs.add(null);
        for (int r = 0; r < rules.size(); r++) {
            List<int[]> alts = new ArrayList<>();
            for (List<Sym> alt : rules.defs.get(r)) {
                int[] seq = new int[alt.size()];
                for (int i = 0; i < seq.length; i++) {
                    seq[i] = switch (alt.get(i)) {
                        case Ref ref -> -(ref.rule() + 2);
                        case Chars c -> chars(c.ranges(), rules.names.get(r), names, defs, sets, setIds, charRules);
                    };
                }
                alts.add(seq);
            }
            defs.set(r, alts);
        }
        int total = 0;
        for (List<int[]> alts : defs) for (int[] a : alts) total += a.length + 1;
        if (total > MAX_POSITIONS) throw new GrammarException("grammar too large: " + total + " positions (at most " + MAX_POSITIONS + ")");
        int[] code = new int[total];
        int[][] starts = new int[defs.size()][];
        int at = 0;
        for (int r = 0; r < defs.size(); r++) {
            starts[r] = new int[defs.get(r).size()];
            for (int a = 0; a < starts[r].length; a++) {
                starts[r][a] = at;
                int[] seq = defs.get(r).get(a);
                System.arraycopy(seq, 0, code, at, seq.length);
                at += seq.length;
                code[at++] = END;
            }
        }
        long[] flat = new long[sets.size() * 4];
        for (int i = 0; i < sets.size(); i++) System.arraycopy(sets.get(i), 0, flat, 4 * i, 4);
        Grammar g = new Grammar(code, starts, flat, names.toArray(String[]::new), rules.id("root"));
        g.checkLeftRecursion();
        return g;
    }

    /** The element for one character of {@code ranges}: a byte set when ASCII, else a rule of UTF-8 sequences. */
    private static int chars(int[] ranges, String owner, List<String> names, List<List<int[]>> defs, List<long[]> sets,
                             Map<String, Integer> setIds, Map<String, Integer> charRules) {
        if (ranges[ranges.length - 1] <= 0x7F) {
            long[] s = new long[4];
            for (int i = 0; i < ranges.length; i += 2) for (int b = ranges[i]; b <= ranges[i + 1]; b++) s[b >>> 6] |= 1L << (b & 63);
            return set(s, sets, setIds);
        }
        String key = Arrays.toString(ranges);
        Integer rule = charRules.get(key);
        if (rule == null) {
            List<int[]> alts = new ArrayList<>();
            long[] single = new long[4];
            for (int[] seq : Utf8Ranges.sequences(ranges)) {
                if (seq.length == 2) {
                    for (int b = seq[0]; b <= seq[1]; b++) single[b >>> 6] |= 1L << (b & 63);
                    continue;
                }
                int[] alt = new int[seq.length / 2];
                for (int i = 0; i < alt.length; i++) {
                    long[] s = new long[4];
                    for (int b = seq[2 * i]; b <= seq[2 * i + 1]; b++) s[b >>> 6] |= 1L << (b & 63);
                    alt[i] = set(s, sets, setIds);
                }
                alts.add(alt);
            }
            if ((single[0] | single[1]) != 0) alts.addFirst(new int[]{set(single, sets, setIds)});
            rule = names.size();
            names.add(owner + "-char" + rule);
            defs.add(alts);
            charRules.put(key, rule);
        }
        return -(rule + 2);
    }

    private static int set(long[] s, List<long[]> sets, Map<String, Integer> ids) {
        return ids.computeIfAbsent(Arrays.toString(s), k -> {
            sets.add(s);
            return sets.size() - 1;
        });
    }

    /** Rejects a rule that can reach itself before consuming a byte (expansion would never end). */
    private void checkLeftRecursion() {
        int n = alternatives.length;
        boolean[] nullable = new boolean[n];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < n; r++) {
                if (nullable[r]) continue;
                for (int start : alternatives[r]) {
                    int p = start;
                    while (isRef(code[p]) && nullable[ruleOf(code[p])]) p++;
                    if (code[p] == END) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        int[] state = new int[n]; // 0 new, 1 on the path, 2 done
        for (int r = 0; r < n; r++) visit(r, nullable, state);
    }

    private void visit(int r, boolean[] nullable, int[] state) {
        if (state[r] == 2) return;
        if (state[r] == 1) throw new GrammarException("left recursion: rule '" + names[r] + "' can reach itself without consuming input");
        state[r] = 1;
        for (int start : alternatives[r]) {
            for (int p = start; isRef(code[p]); p++) {
                visit(ruleOf(code[p]), nullable, state);
                if (!nullable[ruleOf(code[p])]) break;
            }
        }
        state[r] = 2;
    }
}
