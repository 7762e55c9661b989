package io.stride.core.model;

import io.stride.core.kv.KvSequence;

import java.util.Arrays;

/**
 * The input of one forward pass: tokens that may belong to several sequences, each with its own position,
 * and a flag per token saying whether its logits are wanted. Reused across steps (no allocation once grown).
 */
public final class Batch {
    private int size;
    private int[] tokens = new int[16];
    private int[] positions = new int[16];
    private KvSequence[] sequences = new KvSequence[16];
    private boolean[] logits = new boolean[16];
    private int logitsCount;

    public void clear() {
        Arrays.fill(sequences, 0, size, null);
        size = 0;
        logitsCount = 0;
    }

    /** Appends a token of {@code seq} at {@code position}; {@code wantLogits} asks for its next-token logits. */
    public Batch add(int token, int position, KvSequence seq, boolean wantLogits) {
        if (size == tokens.length) {
            int n = size * 2;
            tokens = Arrays.copyOf(tokens, n);
            positions = Arrays.copyOf(positions, n);
            sequences = Arrays.copyOf(sequences, n);
            logits = Arrays.copyOf(logits, n);
        }
        tokens[size] = token;
        positions[size] = position;
        sequences[size] = seq;
        logits[size] = wantLogits;
        size++;
        if (wantLogits) {
            logitsCount++;
        }
        return this;
    }

    public int size() {
        return size;
    }

    public int token(int i) {
        return tokens[i];
    }

    public int position(int i) {
        return positions[i];
    }

    public KvSequence sequence(int i) {
        return sequences[i];
    }

    public boolean wantsLogits(int i) {
        return logits[i];
    }

    /** Number of tokens whose logits are wanted: the rows of the forward pass's output. */
    public int logitsCount() {
        return logitsCount;
    }
}
