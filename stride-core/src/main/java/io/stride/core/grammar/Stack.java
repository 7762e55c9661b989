package io.stride.core.grammar;

/**
 * One parse in progress: the grammar position to match next and, below it, the positions to return to when the
 * current rule ends. Immutable and shared: stacks that differ only on top share their tails. Equal stacks (same
 * positions all the way down) are equal objects for sets, so a parse state is a set without duplicates.
 */
final class Stack {
    /** the stack of a finished parse: the whole input matched {@code root} */
    static final Stack ACCEPT = new Stack(-1, null);
    /** stands for "whatever is below" when masks are computed for one position alone ({@link TokenMasks}) */
    static final Stack CONTEXT = new Stack(-2, null);

    final int pos;
    final Stack parent;
    private final int hash;

    Stack(int pos, Stack parent) {
        this.pos = pos;
        this.parent = parent;
        this.hash = 31 * pos + (parent == null ? 0 : parent.hash);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Stack s) || s.hash != hash) return false;
        Stack a = this, b = s;
        while (a != b) {
            if (a == null || b == null || a.pos != b.pos) return false;
            a = a.parent;
            b = b.parent;
        }
        return true;
    }
}
