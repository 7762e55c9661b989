package io.stride.core.grammar;

/**
 * The parse-state operations over a {@link Grammar}: a state is the set of stacks whose top is a byte set (or
 * {@link Stack#ACCEPT}); {@link #advance} moves every stack whose byte set holds the byte and expands rule
 * references and rule ends until every top is a byte set again. Right recursion does not grow the stack (a reference
 * at the end of an alternative returns straight to its caller's caller).
 */
final class Parses {
    /** most parses one state may hold; a grammar ambiguous beyond that is refused */
    static final int MAX_STACKS = 4096;
    private static final Stack[] NONE = new Stack[0];

    private Parses() {}

    /** The state before any input. */
    static Stack[] start(Grammar g) {
        StackSet out = new StackSet();
        StackSet seen = new StackSet();
        for (int a : g.alternatives[g.root]) expand(g, new Stack(a, null), out, seen);
        return out.toArray();
    }

    /**
     * Adds to {@code out} the parses of {@code state} after byte {@code b}. Returns true when some parse ended the
     * rule below which {@link Stack#CONTEXT} stands (what comes next depends on the caller).
     */
    static boolean advance(Grammar g, Stack[] state, int b, StackSet out) {
        boolean exit = false;
        StackSet seen = null;
        for (Stack s : state) {
            if (s.pos >= 0 && g.matches(s.pos, b)) {
                Stack next = new Stack(s.pos + 1, s.parent);
                if (g.code[next.pos] >= 0) {
                    out.add(next); // the common case: the next element is a byte set too
                    continue;
                }
                if (seen == null) seen = new StackSet();
                exit |= expand(g, next, out, seen);
            }
        }
        if (out.size() > MAX_STACKS) {
            throw new GrammarException("grammar is too ambiguous: more than " + MAX_STACKS + " parses at once");
        }
        return exit;
    }

    static Stack[] advance(Grammar g, Stack[] state, int b) {
        if (state.length == 1) {
            Stack s = state[0];
            if (s.pos < 0 || !g.matches(s.pos, b)) return NONE;
            if (g.code[s.pos + 1] >= 0) return new Stack[]{new Stack(s.pos + 1, s.parent)};
        }
        StackSet out = new StackSet();
        advance(g, state, b, out);
        return out.isEmpty() ? NONE : out.toArray();
    }

    /** The state after {@code bytes} (empty: rejected). */
    static Stack[] advance(Grammar g, Stack[] state, byte[] bytes) {
        for (int i = 0; i < bytes.length && state.length > 0; i++) state = advance(g, state, bytes[i] & 0xFF);
        return state;
    }

    private static boolean expand(Grammar g, Stack s, StackSet out, StackSet seen) {
        if (!seen.add(s)) return false;
        int e = g.code[s.pos];
        if (e >= 0) {
            out.add(s);
            return false;
        }
        if (e == Grammar.END) {
            if (s.parent == null) {
                out.add(Stack.ACCEPT);
                return false;
            }
            if (s.parent == Stack.CONTEXT) return true;
            return expand(g, s.parent, out, seen);
        }
        Stack ret = g.code[s.pos + 1] == Grammar.END ? s.parent : new Stack(s.pos + 1, s.parent);
        boolean exit = false;
        for (int a : g.alternatives[Grammar.ruleOf(e)]) exit |= expand(g, new Stack(a, ret), out, seen);
        return exit;
    }

    static boolean canEnd(Stack[] state) {
        for (Stack s : state) if (s == Stack.ACCEPT) return true;
        return false;
    }
}
