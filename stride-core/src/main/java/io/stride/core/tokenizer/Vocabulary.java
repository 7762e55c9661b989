package io.stride.core.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Token strings, scores, kinds and the special-token ids and rules read from GGUF metadata. */
public final class Vocabulary {
    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    private final Map<String, Integer> ids;
    private final int bos;
    private final int eos;
    private final int unk;
    private final boolean addBos;
    private final boolean addEos;
    private final Set<Integer> endOfGeneration;
    private final List<Integer> specialsLongestFirst;
    private final int maxTokenChars;

    public Vocabulary(String[] tokens, float[] scores, int[] types, int bos, int eos, int unk, boolean addBos,
                      boolean addEos, Set<Integer> extraEndOfGeneration) {
        this.tokens = tokens;
        this.scores = scores;
        this.types = types;
        this.ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) {
            ids.putIfAbsent(tokens[i], i);
        }
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.addBos = addBos;
        this.addEos = addEos;
        Set<Integer> eog = new HashSet<>(extraEndOfGeneration);
        if (eos >= 0) {
            eog.add(eos);
        }
        for (int i = 0; i < tokens.length; i++) {
            if (types[i] == TokenType.CONTROL && isEndOfGenerationText(tokens[i])) {
                eog.add(i);
            }
        }
        this.endOfGeneration = Set.copyOf(eog);
        List<Integer> specials = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            int t = types[i];
            if ((t == TokenType.CONTROL || t == TokenType.USER_DEFINED || t == TokenType.UNKNOWN) && !tokens[i].isEmpty()) {
                specials.add(i);
            }
        }
        specials.sort(Comparator.comparingInt((Integer i) -> -tokens[i].length()).thenComparingInt(i -> i));
        this.specialsLongestFirst = List.copyOf(specials);
        int longest = 1;
        for (String t : tokens) {
            longest = Math.max(longest, t.length());
        }
        this.maxTokenChars = longest;
    }

    /**
     * The longest token string, in UTF-16 chars. No token covers more chars of input text than this (byte-level
     * BPE strings have one char per byte, SentencePiece pieces one per char), so a text of n chars encodes to at
     * least n / maxTokenChars() tokens: a bound checked before spending any work on a text that cannot fit.
     */
    public int maxTokenChars() {
        return maxTokenChars;
    }

    private static boolean isEndOfGenerationText(String s) {
        return switch (s) {
            case "<|eot_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "<|eom_id|>", "<end_of_turn>", "</s>",
                 "<|end_of_text|>" -> true;
            default -> false;
        };
    }

    public int size() {
        return tokens.length;
    }

    public String token(int id) {
        return tokens[id];
    }

    public float score(int id) {
        return scores == null ? 0f : scores[id];
    }

    public int type(int id) {
        return types[id];
    }

    /** Id of the token whose text is exactly {@code text}, or -1. */
    public int id(String text) {
        Integer i = ids.get(text);
        return i == null ? -1 : i;
    }

    public int bos() {
        return bos;
    }

    public int eos() {
        return eos;
    }

    public int unk() {
        return unk;
    }

    public boolean addBos() {
        return addBos;
    }

    public boolean addEos() {
        return addEos;
    }

    public boolean isEndOfGeneration(int id) {
        return endOfGeneration.contains(id);
    }

    /** Control, user-defined and unknown tokens, the ones recognised in text when special parsing is on. */
    public List<Integer> specialTokens() {
        return specialsLongestFirst;
    }
}
