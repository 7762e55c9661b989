package io.stride.core.grammar;

import io.stride.core.tokenizer.Tokenizer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A grammar bound to a vocabulary: the compiled grammar, the vocabulary's token trie and the precomputed per-position
 * masks. Immutable and shared by every request that uses the same grammar text; {@link #matcher} gives one request
 * its own parse state. Compiling costs one trie walk per grammar position, so recent grammars are kept
 * ({@link #of}).
 */
public final class TokenGrammar {
    private static final int CACHED = 64;
    private static final Map<Tokenizer, TokenTrie> TRIES = Collections.synchronizedMap(new WeakHashMap<>());
    private static final Map<Tokenizer, Map<String, TokenGrammar>> COMPILED = Collections.synchronizedMap(new WeakHashMap<>());

    final Grammar grammar;
    final TokenTrie trie;
    final TokenMasks masks;
    final Stack[] start;

    private TokenGrammar(Grammar grammar, TokenTrie trie) {
        this.grammar = grammar;
        this.trie = trie;
        this.masks = new TokenMasks(grammar, trie);
        this.start = Parses.start(grammar);
    }

    /** The grammar of GBNF text {@code gbnf} for {@code tokenizer}'s vocabulary, compiled or from the cache. */
    public static TokenGrammar of(String gbnf, Tokenizer tokenizer) {
        Map<String, TokenGrammar> cache = COMPILED.computeIfAbsent(tokenizer, t -> Collections.synchronizedMap(
                new LinkedHashMap<>(16, 0.75f, true) {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<String, TokenGrammar> e) {
                        return size() > CACHED;
                    }
                }));
        TokenGrammar g = cache.get(gbnf);
        if (g == null) {
            g = new TokenGrammar(Grammar.parse(gbnf), TRIES.computeIfAbsent(tokenizer, TokenTrie::new));
            cache.put(gbnf, g);
        }
        return g;
    }

    /** A fresh parse state at the start of the grammar. */
    public GrammarMatcher matcher() {
        return new GrammarMatcher(this, start);
    }

    public int vocab() {
        return trie.vocab;
    }
}
