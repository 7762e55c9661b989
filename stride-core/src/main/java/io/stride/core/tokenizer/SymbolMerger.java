package io.stride.core.tokenizer;

import java.util.PriorityQueue;

/**
 * The merge loop shared by SentencePiece and BPE: a word starts as a linked list of symbols (one per
 * character) and the best-ranked adjacent pair is merged until none is left. Ranking is given by
 * {@link #rank}: lower is better; ties go to the leftmost pair.
 */
abstract class SymbolMerger {
    /** A symbol: a slice [start, start+len) of the word, in a doubly linked list. */
    protected int[] start, len, prev, next;
    protected String word;

    private record Pair(int left, int right, double rank, int size) {}

    /** Rank of the merged text, or NaN when the pair cannot merge. */
    protected abstract double rank(String merged, String left, String right);

    /** Splits {@code word} into symbols, one per code point, and merges. Returns the head symbol index (0). */
    protected final int merge(String word) {
        this.word = word;
        int n = word.codePointCount(0, word.length());
        start = new int[n];
        len = new int[n];
        prev = new int[n];
        next = new int[n];
        int off = 0;
        for (int i = 0; i < n; i++) {
            int cp = word.codePointAt(off);
            start[i] = off;
            len[i] = Character.charCount(cp);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            off += len[i];
        }
        PriorityQueue<Pair> queue = new PriorityQueue<>((a, b) -> a.rank != b.rank ? Double.compare(a.rank, b.rank)
                : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            offer(queue, i - 1, i);
        }
        while (!queue.isEmpty()) {
            Pair p = queue.poll();
            if (len[p.left] == 0 || len[p.right] == 0 || len[p.left] + len[p.right] != p.size || next[p.left] != p.right) {
                continue; // outdated
            }
            len[p.left] += len[p.right];
            len[p.right] = 0;
            next[p.left] = next[p.right];
            if (next[p.right] >= 0) {
                prev[next[p.right]] = p.left;
            }
            offer(queue, prev[p.left], p.left);
            offer(queue, p.left, next[p.left]);
        }
        return n == 0 ? -1 : 0;
    }

    private void offer(PriorityQueue<Pair> queue, int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        String l = text(left);
        String r = text(right);
        double rank = rank(l + r, l, r);
        if (!Double.isNaN(rank)) {
            queue.add(new Pair(left, right, rank, len[left] + len[right]));
        }
    }

    protected final String text(int symbol) {
        return word.substring(start[symbol], start[symbol] + len[symbol]);
    }
}
