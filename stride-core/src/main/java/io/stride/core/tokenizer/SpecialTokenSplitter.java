package io.stride.core.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Splits text into plain fragments and special tokens written in it (leftmost, then longest match). */
final class SpecialTokenSplitter {
    /** A piece of the input: either plain text ({@code token < 0}) or one special token. */
    record Fragment(String text, int token) {
        boolean isToken() {
            return token >= 0;
        }
    }

    private final Vocabulary vocab;
    /** special tokens by first char, longest first */
    private final Map<Character, List<Integer>> byFirstChar = new HashMap<>();

    SpecialTokenSplitter(Vocabulary vocab) {
        this.vocab = vocab;
        for (int id : vocab.specialTokens()) {
            byFirstChar.computeIfAbsent(vocab.token(id).charAt(0), c -> new ArrayList<>()).add(id);
        }
    }

    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> out = new ArrayList<>();
        if (!parseSpecial || byFirstChar.isEmpty()) {
            if (!text.isEmpty()) {
                out.add(new Fragment(text, -1));
            }
            return out;
        }
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            int match = matchAt(text, i);
            if (match >= 0) {
                if (i > start) {
                    out.add(new Fragment(text.substring(start, i), -1));
                }
                out.add(new Fragment(vocab.token(match), match));
                i += vocab.token(match).length();
                start = i;
            } else {
                i++;
            }
        }
        if (start < text.length()) {
            out.add(new Fragment(text.substring(start), -1));
        }
        return out;
    }

    private int matchAt(String text, int i) {
        List<Integer> candidates = byFirstChar.get(text.charAt(i));
        if (candidates != null) {
            for (int id : candidates) {
                if (text.startsWith(vocab.token(id), i)) {
                    return id;
                }
            }
        }
        return -1;
    }
}
