package io.stride.core.grammar;

import io.stride.core.tokenizer.Tokenizer;
import io.stride.core.tokenizer.Vocabulary;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The vocabulary's text tokens as a prefix tree of their bytes. Tokens are sorted by their bytes ({@link #sorted}); a
 * node's subtree is the contiguous range {@code sorted[first[n] .. stop[n])}, of which {@code sorted[first[n] ..
 * ends[n])} are the tokens whose bytes end at the node. Tokens without bytes (control tokens) and end-of-generation
 * tokens are left out: grammars match text, and the end is allowed separately when the grammar is complete.
 */
final class TokenTrie {
    final int vocab;
    final byte[][] bytes;
    final int[] sorted;
    /** end-of-generation token ids */
    final int[] endTokens;
    final int[] nodeByte;
    final int[] firstChild;
    final int[] nextSibling;
    final int[] first;
    final int[] ends;
    final int[] stop;
    private int nodes;

    TokenTrie(Tokenizer tokenizer) {
        Vocabulary v = tokenizer.vocabulary();
        vocab = v.size();
        bytes = new byte[vocab][];
        List<Integer> text = new ArrayList<>();
        List<Integer> eog = new ArrayList<>();
        for (int id = 0; id < vocab; id++) {
            if (v.isEndOfGeneration(id)) {
                eog.add(id);
                continue;
            }
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length == 0) continue;
            bytes[id] = b;
            text.add(id);
        }
        endTokens = eog.stream().mapToInt(Integer::intValue).toArray();
        sorted = text.stream().sorted((a, c) -> Arrays.compareUnsigned(bytes[a], bytes[c])).mapToInt(Integer::intValue).toArray();
        int cap = 1;
        for (int id : sorted) cap += bytes[id].length;
        nodeByte = new int[cap];
        firstChild = new int[cap];
        nextSibling = new int[cap];
        first = new int[cap];
        ends = new int[cap];
        stop = new int[cap];
        build(0, 0, sorted.length, -1);
    }

    static final int ROOT = 0;

    /** Builds the node for the tokens sorted[a .. b) sharing their first {@code depth} bytes; returns its index. */
    private int build(int depth, int a, int b, int viaByte) {
        int n = nodes++;
        nodeByte[n] = viaByte;
        first[n] = a;
        stop[n] = b;
        int i = a;
        while (i < b && bytes[sorted[i]].length == depth) i++;
        ends[n] = i;
        firstChild[n] = -1;
        nextSibling[n] = -1;
        int prev = -1;
        while (i < b) {
            int c = bytes[sorted[i]][depth] & 0xFF;
            int j = i;
            while (j < b && (bytes[sorted[j]][depth] & 0xFF) == c) j++;
            int child = build(depth + 1, i, j, c);
            if (prev < 0) firstChild[n] = child;
            else nextSibling[prev] = child;
            prev = child;
            i = j;
        }
        return n;
    }
}
