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
    /** the first position a ShadowKV decode step was marked at (the prompt's length), or -1 */
    private int sparseFrom = -1;
    /** the low-rank keys of positions [0, sparseFrom), built by the first ShadowKV decode step, or null */
    private ShadowKeys shadowKeys;
    /** positions below this may have had their keys given back to the key pool (ShadowKV) */
    private int keysGivenBack;
    /** ZipCache: the open block's q8_0 copy and saliency rows, or null when the cache is not zip */
    private io.stride.core.kv.store.ZipStage zipStage;

    KvSequence(int blockSize) {
        this.blockSize = blockSize;
    }

    /** ZipCache's staging of this sequence's open block (null when the cache is not zip). */
    public io.stride.core.kv.store.ZipStage zipStage() {
        return zipStage;
    }

    void setZipStage(io.stride.core.kv.store.ZipStage stage) {
        this.zipStage = stage;
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

    /**
     * Notes a ShadowKV decode step at {@code position}: until the low-rank keys are built, the lowest such position is
     * where the prompt ends (the scheduler marks every position from the prompt's length on).
     */
    public void noteSparse(int position) {
        if (shadowKeys == null && (sparseFrom < 0 || position < sparseFrom)) {
            sparseFrom = position;
        }
    }

    /** The prompt length ShadowKV factors keys over, or -1 when no ShadowKV step was marked. */
    public int sparseFrom() {
        return sparseFrom;
    }

    /** The low-rank keys of the prompt, or null before the first ShadowKV step's attention built them. */
    public ShadowKeys shadowKeys() {
        return shadowKeys;
    }

    public void setShadowKeys(ShadowKeys keys) {
        this.shadowKeys = keys;
    }

    void forgetSparse() {
        sparseFrom = -1;
        shadowKeys = null;
        keysGivenBack = 0;
    }

    /** Positions below which keys may be gone from the cache (their blocks' key blocks given back); 0 when none. */
    public int keysGivenBack() {
        return keysGivenBack;
    }

    void setKeysGivenBack(int end) {
        this.keysGivenBack = end;
    }

    /** Marks positions [0, length) as written. */
    public void setLength(int length) {
        if (length < 0 || length > capacity()) {
            throw new IllegalArgumentException("length " + length + " outside capacity " + capacity());
        }
        this.length = length;
    }
}
