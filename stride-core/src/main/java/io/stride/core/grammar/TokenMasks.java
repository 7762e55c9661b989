package io.stride.core.grammar;

import java.util.Arrays;

/**
 * Token masks of a grammar precomputed per position, in the manner of XGrammar's context-independent tokens. For a
 * stack whose top is position p and whose next k positions down are known, a walk over the {@link TokenTrie} sorts
 * every token into <em>accepted</em> (some parse consumes all its bytes inside those k + 1 frames: allowed whatever
 * lies below), <em>uncertain</em> (no parse does, but one leaves the known frames on the way) or rejected. At run
 * time a stack's mask is its accepted set plus the uncertain tokens its full stack accepts ({@link GrammarMatcher}).
 * <p>
 * Small rules (one character of a string, a digit) would leave nearly every token uncertain with k = 0, so a
 * position whose uncertain set is large is computed again for each possible caller frame below it (k + 1), up to a
 * depth, as long as the callers are few: {@link Context} is that tree, keyed by the return positions of the calls
 * that can lead to the frame ({@link CallSites}).
 */
final class TokenMasks {
    /** a context is refined when more tokens than this are uncertain */
    private static final int REFINE_ABOVE = 32;
    private static final int MAX_DEPTH = 4;
    /** a rule with more caller frames than this is not refined by them */
    private static final int MAX_CALLERS = 32;
    /** accepted tokens kept as ids below this count, as a bitset above */
    private static final int LIST_LIMIT = 256;

    final Grammar grammar;
    final TokenTrie trie;
    private final CallSites calls;
    private final Context[] contexts;

    /** The masks of one stack prefix: its accepted tokens, its uncertain ones, and refinements by the next frame. */
    static final class Context {
        int[] acceptedIds;
        long[] acceptedBits;
        /** indexes into {@code trie.sorted} of the uncertain tokens, ascending (so byte-sorted) */
        int[] uncertain;
        /** the next frame's return position (-1: the stack ends) of each refinement */
        int[] keys;
        Context[] children;

        void orAccepted(long[] mask) {
            if (acceptedBits != null) {
                for (int i = 0; i < acceptedBits.length; i++) mask[i] |= acceptedBits[i];
            } else {
                for (int id : acceptedIds) mask[id >>> 6] |= 1L << id;
            }
        }
    }

    TokenMasks(Grammar grammar, TokenTrie trie) {
        this.grammar = grammar;
        this.trie = trie;
        this.calls = new CallSites(grammar, MAX_CALLERS);
        int n = grammar.positions();
        contexts = new Context[n];
        for (int p = 0; p < n; p++) {
            if (grammar.terminal(p)) contexts[p] = build(p, new int[0]);
        }
    }

    /** The most refined context of stack {@code s} (its top a byte set). */
    Context lookup(Stack s) {
        Context c = contexts[s.pos];
        Stack below = s.parent;
        while (c.keys != null) {
            int key = below == null ? -1 : below.pos;
            int i = indexOf(c.keys, key);
            if (i < 0) break;
            c = c.children[i];
            if (below == null) break;
            below = below.parent;
        }
        return c;
    }

    private static int indexOf(int[] keys, int key) {
        for (int i = 0; i < keys.length; i++) if (keys[i] == key) return i;
        return -1;
    }

    /** The context of top position p above the known return positions {@code chain} (-1 last: the stack ends). */
    private Context build(int p, int[] chain) {
        boolean bottom = chain.length > 0 && chain[chain.length - 1] == -1;
        Stack below = bottom ? null : Stack.CONTEXT;
        for (int i = chain.length - (bottom ? 2 : 1); i >= 0; i--) below = new Stack(chain[i], below);
        Context c = walk(new Stack(p, below));
        if (c.uncertain.length > REFINE_ABOVE && !bottom && chain.length < MAX_DEPTH) {
            int[] callers = calls.returnsInto(grammar.ruleAt(chain.length == 0 ? p : chain[chain.length - 1]));
            if (callers != null) {
                c.keys = callers;
                c.children = new Context[callers.length];
                for (int i = 0; i < callers.length; i++) {
                    int[] longer = Arrays.copyOf(chain, chain.length + 1);
                    longer[chain.length] = callers[i];
                    c.children[i] = build(p, longer);
                }
            }
        }
        return c;
    }

    private Context walk(Stack start) {
        long[] bits = new long[(trie.vocab + 63) >>> 6];
        int[] count = {0};
        TokenMasks.IntList unc = new IntList();
        walk(TokenTrie.ROOT, new Stack[]{start}, false, bits, count, unc);
        Context c = new Context();
        c.uncertain = unc.toArray();
        if (count[0] <= LIST_LIMIT) {
            int[] ids = new int[count[0]];
            int k = 0;
            for (int w = 0; w < bits.length; w++) {
                for (long x = bits[w]; x != 0; x &= x - 1) ids[k++] = (w << 6) + Long.numberOfTrailingZeros(x);
            }
            c.acceptedIds = ids;
        } else {
            c.acceptedBits = bits;
        }
        return c;
    }

    private void walk(int node, Stack[] state, boolean exited, long[] bits, int[] count, IntList unc) {
        for (int c = trie.firstChild[node]; c >= 0; c = trie.nextSibling[c]) {
            StackSet out = new StackSet();
            boolean ex = Parses.advance(grammar, state, trie.nodeByte[c], out) | exited;
            if (out.isEmpty()) {
                if (ex) for (int i = trie.first[c]; i < trie.stop[c]; i++) unc.add(i);
                continue;
            }
            for (int i = trie.first[c]; i < trie.ends[c]; i++) {
                int id = trie.sorted[i];
                bits[id >>> 6] |= 1L << id;
                count[0]++;
            }
            walk(c, out.toArray(), ex, bits, count, unc);
        }
    }

    /** A growable int list (the walk's uncertain tokens). */
    static final class IntList {
        int[] a = new int[16];
        int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
