package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.sparse.SparseAttention;

import java.util.Arrays;

/**
 * The input of one forward pass: tokens that may belong to several sequences, each with its own position,
 * and a flag per token saying whether its logits are wanted. Reused across steps (no allocation once grown).
 *
 * <p>A token normally attends causally to its sequence's positions {@code [0, position]}. A <em>tree</em> token
 * (speculative verification) has a parent token earlier in the batch: it attends to what its parent attends
 * to plus itself, so sibling branches do not see each other. Its keys and values are stored at its own KV
 * position while RoPE uses its depth-based {@link #ropePosition}.
 */
public final class Batch {
    private int size;
    private int[] tokens = new int[16];
    private int[] positions = new int[16];
    private KvSequence[] sequences = new KvSequence[16];
    private boolean[] logits = new boolean[16];
    private int[] ropePositions = new int[16];
    private int[] parents = new int[16];
    private SparseAttention[] sparse = new SparseAttention[16];
    private int[] visible = new int[16];
    private int logitsCount;

    public void clear() {
        Arrays.fill(sequences, 0, size, null);
        Arrays.fill(sparse, 0, size, null);
        size = 0;
        logitsCount = 0;
    }

    /** Appends a causal token of {@code seq} at {@code position}; {@code wantLogits} asks for its next-token logits. */
    public Batch add(int token, int position, KvSequence seq, boolean wantLogits) {
        return add(token, position, position, seq, wantLogits, -1);
    }

    /**
     * Appends a bidirectional token (diffusion models): it attends to positions {@code [0, visible)} of {@code seq},
     * later positions included, whose keys and values this batch writes or the cache already holds.
     */
    public Batch addBidirectional(int token, int position, KvSequence seq, boolean wantLogits, int visible) {
        if (visible <= position) {
            throw new IllegalArgumentException("a bidirectional token at position " + position + " must see itself: visible " + visible);
        }
        add(token, position, position, seq, wantLogits, -1);
        this.visible[size - 1] = visible;
        return this;
    }

    /**
     * Appends a tree token: stored at KV position {@code kvPosition}, rotated for {@code ropePosition}, attending
     * to its ancestors through {@code parent} (the batch index of its parent token of the same sequence, -1 for
     * an ordinary causal token).
     */
    public Batch addTreeNode(int token, int kvPosition, int ropePosition, KvSequence seq, boolean wantLogits, int parent) {
        if (parent < 0 || parent >= size || sequences[parent] != seq || positions[parent] >= kvPosition) {
            throw new IllegalArgumentException("a tree token's parent must be an earlier token of the same sequence at a lower KV position");
        }
        return add(token, kvPosition, ropePosition, seq, wantLogits, parent);
    }

    private Batch add(int token, int position, int ropePosition, KvSequence seq, boolean wantLogits, int parent) {
        if (size == tokens.length) {
            int n = size * 2;
            tokens = Arrays.copyOf(tokens, n);
            positions = Arrays.copyOf(positions, n);
            sequences = Arrays.copyOf(sequences, n);
            logits = Arrays.copyOf(logits, n);
            ropePositions = Arrays.copyOf(ropePositions, n);
            parents = Arrays.copyOf(parents, n);
            sparse = Arrays.copyOf(sparse, n);
            visible = Arrays.copyOf(visible, n);
        }
        visible[size] = -1;
        ropePositions[size] = ropePosition;
        parents[size] = parent;
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

    /** The position RoPE rotates token i for (equal to {@link #position} except for tree tokens). */
    public int ropePosition(int i) {
        return ropePositions[i];
    }

    /** How many positions bidirectional token i sees ({@link #addBidirectional}), or -1 for a causal or tree token. */
    public int visible(int i) {
        return visible[i];
    }

    /** Batch index of token i's tree parent, or -1 for a causal token. */
    public int parent(int i) {
        return parents[i];
    }

    public KvSequence sequence(int i) {
        return sequences[i];
    }

    public boolean wantsLogits(int i) {
        return logits[i];
    }

    /**
     * Makes token i a decode step with sparse attention ({@code mode} resolved for the model's layers; null: dense,
     * the default). Prompt tokens stay dense. A ShadowKV step notes its position in its sequence: the lowest one marked
     * before the first step's attention is where the prompt ShadowKV factors ends.
     */
    public void setSparse(int i, SparseAttention mode) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException(i);
        }
        sparse[i] = mode;
        if (mode != null && mode.shadow() != null) {
            sequences[i].noteSparse(positions[i]);
        }
    }

    /** Token i's sparse attention, or null for dense. */
    public SparseAttention sparse(int i) {
        return sparse[i];
    }

    /** Number of tokens whose logits are wanted: the rows of the forward pass's output. */
    public int logitsCount() {
        return logitsCount;
    }
}
