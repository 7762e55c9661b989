package io.stride.core.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * For each rule, the positions a stack can return to when a frame of that rule ends: the position after every
 * reference that is not the last of its alternative, for the rules reached from that reference through tail
 * references (which return straight to their caller's caller), and -1 when the rule can be the root's own frame.
 * Rules with more callers than a limit are marked unknown (null): refining their masks by caller would cost too much.
 */
final class CallSites {
    private final List<List<Integer>> into;
    private final boolean[] tooMany;
    private final int limit;

    CallSites(Grammar g, int limit) {
        this.limit = limit;
        int rules = g.alternatives.length;
        into = new ArrayList<>(rules);
        for (int r = 0; r < rules; r++) into.add(new ArrayList<>());
        tooMany = new boolean[rules];
        // tail references: rule -> rules it can end in
        List<List<Integer>> tails = new ArrayList<>(rules);
        for (int r = 0; r < rules; r++) {
            List<Integer> t = new ArrayList<>();
            for (int start : g.alternatives[r]) {
                int p = start;
                while (g.code[p] != Grammar.END) p++;
                if (p > start && Grammar.isRef(g.code[p - 1])) t.add(Grammar.ruleOf(g.code[p - 1]));
            }
            tails.add(t);
        }
        reach(g.root, -1, tails);
        for (int c = 0; c + 1 < g.code.length; c++) {
            if (Grammar.isRef(g.code[c]) && g.code[c + 1] != Grammar.END) reach(Grammar.ruleOf(g.code[c]), c + 1, tails);
        }
    }

    /** Adds return position {@code ret} to rule {@code r} and every rule it reaches through tail references. */
    private void reach(int r, int ret, List<List<Integer>> tails) {
        HashSet<Integer> seen = new HashSet<>();
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        todo.add(r);
        seen.add(r);
        while (!todo.isEmpty()) {
            int x = todo.poll();
            if (!tooMany[x]) {
                List<Integer> list = into.get(x);
                if (!list.contains(ret)) list.add(ret);
                if (list.size() > limit) {
                    tooMany[x] = true;
                    list.clear();
                }
            }
            for (int t : tails.get(x)) {
                if (seen.add(t)) todo.add(t);
            }
        }
    }

    /** The return positions of frames of rule {@code r} (-1: none below), or null when there are too many. */
    int[] returnsInto(int r) {
        if (tooMany[r]) return null;
        return into.get(r).stream().mapToInt(Integer::intValue).toArray();
    }
}
