package io.stride.core.grammar;

import java.util.Arrays;

/**
 * One request's parse state in a {@link TokenGrammar}: which tokens may come next ({@link #fillMask}) and the state
 * after each chosen token ({@link #accept}). End-of-generation tokens are allowed exactly when the text so far is a
 * complete sentence of the grammar. Not thread-safe; {@link #copy} forks it.
 */
public final class GrammarMatcher {
    private final TokenGrammar g;
    private Stack[] state;
    /** prefix-shared states of the uncertain-token check: levels[d] after d bytes of the previous token */
    private Stack[][] levels = new Stack[64][];
    private byte[] previous = new byte[0];

    GrammarMatcher(TokenGrammar g, Stack[] state) {
        this.g = g;
        this.state = state;
    }

    public GrammarMatcher copy() {
        return new GrammarMatcher(g, state);
    }

    /** True when the text so far is complete (an end-of-generation token is allowed). */
    public boolean canEnd() {
        return Parses.canEnd(state);
    }

    /** True when nothing but the end can follow. */
    public boolean mustEnd() {
        return state.length == 1 && state[0] == Stack.ACCEPT;
    }

    /**
     * Sets bit t of {@code mask} (vocabulary-sized, cleared first) for every token t allowed next. Should no token
     * continue a grammar that is not complete (a vocabulary without the bytes it needs), the end-of-generation tokens
     * are allowed: the output ends rather than leave the grammar. A state equal to the last one masked (inside a
     * string, a run of digits) reuses that mask.
     */
    public void fillMask(long[] mask) {
        if (lastMask != null && lastMask.length == mask.length && Arrays.equals(state, lastState)) {
            System.arraycopy(lastMask, 0, mask, 0, mask.length);
            return;
        }
        Arrays.fill(mask, 0L);
        TokenTrie trie = g.trie;
        boolean end = false;
        TokenMasks.Context[] contexts = new TokenMasks.Context[state.length];
        for (int i = 0; i < state.length; i++) {
            if (state[i] == Stack.ACCEPT) {
                end = true;
                continue;
            }
            contexts[i] = g.masks.lookup(state[i]);
            contexts[i].orAccepted(mask);
        }
        for (int i = 0; i < state.length; i++) {
            if (contexts[i] == null) continue;
            Stack[] single = {state[i]};
            previous = new byte[0];
            int dead = Integer.MAX_VALUE;
            for (int idx : contexts[i].uncertain) {
                int id = trie.sorted[idx];
                if ((mask[id >>> 6] >>> id & 1L) != 0) continue;
                byte[] b = trie.bytes[id];
                int common = commonPrefix(previous, b);
                if (common >= dead) continue; // an earlier token died within this shared prefix
                if (accepts(single, b, common)) mask[id >>> 6] |= 1L << id;
                dead = deadDepth;
            }
        }
        if (!end) {
            long any = 0;
            for (long w : mask) any |= w;
            end = any == 0;
        }
        if (end) for (int id : trie.endTokens) mask[id >>> 6] |= 1L << id;
        if (lastMask == null || lastMask.length != mask.length) lastMask = new long[mask.length];
        System.arraycopy(mask, 0, lastMask, 0, mask.length);
        lastState = state;
    }

    private long[] lastMask;
    private Stack[] lastState;
    private int deadDepth;

    /** Whether {@code from} accepts all of {@code b}, reusing levels[0 .. common] of the previous token. */
    private boolean accepts(Stack[] from, byte[] b, int common) {
        if (levels.length <= b.length) levels = Arrays.copyOf(levels, b.length * 2);
        levels[0] = from;
        int d = Math.min(common, previous.length);
        previous = b;
        deadDepth = Integer.MAX_VALUE;
        for (; d < b.length; d++) {
            levels[d + 1] = Parses.advance(g.grammar, levels[d], b[d] & 0xFF);
            if (levels[d + 1].length == 0) {
                deadDepth = d + 1;
                return false;
            }
        }
        return true;
    }

    private static int commonPrefix(byte[] a, byte[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /**
     * Moves past token {@code id}; returns false (state unchanged) when the grammar does not allow it. An
     * end-of-generation token is allowed when {@link #canEnd}.
     */
    public boolean accept(int id) {
        byte[] b = id >= 0 && id < g.trie.vocab ? g.trie.bytes[id] : null;
        if (b == null) {
            for (int e : g.trie.endTokens) {
                if (e == id) return canEnd();
            }
            return false;
        }
        Stack[] next = Parses.advance(g.grammar, state, b);
        if (next.length == 0) return false;
        state = next;
        return true;
    }

    /**
     * The bytes the grammar forces from here: as long as the text so far cannot end and exactly one byte is allowed
     * (keys, punctuation, the rest of an enum value), at most {@code max}. The state does not move.
     */
    public byte[] forcedBytes(int max) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Stack[] st = state;
        long[] allowed = new long[4];
        while (out.size() < max && !Parses.canEnd(st)) {
            Arrays.fill(allowed, 0L);
            for (Stack s : st) g.grammar.orSet(s.pos, allowed);
            int count = 0, only = -1;
            for (int w = 0; w < 4; w++) {
                count += Long.bitCount(allowed[w]);
                if (allowed[w] != 0) only = 64 * w + Long.numberOfTrailingZeros(allowed[w]);
            }
            if (count != 1) break;
            out.write(only);
            st = Parses.advance(g.grammar, st, only);
        }
        return out.toByteArray();
    }

    /** Whether the grammar allows token {@code id} next (without moving). */
    public boolean allows(int id) {
        byte[] b = id >= 0 && id < g.trie.vocab ? g.trie.bytes[id] : null;
        if (b == null) return canEnd() && Arrays.stream(g.trie.endTokens).anyMatch(e -> e == id);
        return Parses.advance(g.grammar, state, b).length > 0;
    }
}
