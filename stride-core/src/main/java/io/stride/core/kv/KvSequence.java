package io.stride.core.kv;

import java.util.Arrays;

/**
 * One sequence's view of the paged KV cache: its block table (logical block i lives in physical block
 * {@code blocks[i]}) and how many positions it holds.
 */
public final class KvSequence {
    private final int blockSize;
    private int[] blocks = new int[8];
    private int blockCount;
    private int length;

    KvSequence(int blockSize) {
        this.blockSize = blockSize;
    }

    /** Positions currently stored (the next token goes at position {@code length()}). */
    public int length() {
        return length;
    }

    /** Positions the block table can hold without allocating. */
    public int capacity() {
        return blockCount * blockSize;
    }

    public int blockCount() {
        return blockCount;
    }

    public int block(int i) {
        return blocks[i];
    }

    /** Cache slot (physical block × block size + offset) of position {@code pos}. */
    public int slot(int pos) {
        return blocks[pos / blockSize] * blockSize + pos % blockSize;
    }

    void addBlock(int b) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[blockCount++] = b;
    }

    int removeLastBlock() {
        return blocks[--blockCount];
    }

    /** Marks positions [0, length) as written. */
    public void setLength(int length) {
        if (length < 0 || length > capacity()) {
            throw new IllegalArgumentException("length " + length + " outside capacity " + capacity());
        }
        this.length = length;
    }
}
