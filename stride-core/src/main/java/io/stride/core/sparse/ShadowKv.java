package io.stride.core.sparse;

/**
 * ShadowKV's settings (Sun et al., 2024): the prompt's pre-RoPE keys of each layer kept as a rank-{@code rank}
 * factorization (per-layer SVD over all KV heads together), the prompt cut into chunks of {@code chunk} positions with
 * one landmark each (the mean of its post-RoPE keys, per KV head), the {@code outliers} chunks per KV head whose keys
 * their landmark describes worst (lowest minimum cosine similarity) and the last {@code local} chunks (with the
 * positions after the last whole chunk) attended to always, and of the other chunks the budget's worth whose landmarks
 * score highest. Keys of the chosen chunks are rebuilt from the factors (RoPE applied at their positions); values are
 * read from the cache. Positions after the prompt (generated tokens) are attended to densely.
 *
 * @param rank     rank of the key factorization (0: {@link #DEFAULT_RANK_NUM}/{@link #DEFAULT_RANK_DEN} of the key
 *                 width, the paper's 160 of Llama-3-8B's 1,024)
 * @param chunk    positions per chunk
 * @param outliers chunks per KV head always attended to with their stored keys
 * @param local    last chunks of the prompt always attended to with their stored keys
 */
public record ShadowKv(int rank, int chunk, int outliers, int local) {
    public static final int DEFAULT_RANK_NUM = 160, DEFAULT_RANK_DEN = 1024;
    /** The paper's defaults: budget 2,048 positions, chunks of 8, 48 outlier chunks, 4 local chunks. */
    public static final int DEFAULT_BUDGET = 2048, DEFAULT_CHUNK = 8, DEFAULT_OUTLIERS = 48, DEFAULT_LOCAL = 4;

    public ShadowKv {
        if (rank < 0 || chunk < 1 || outliers < 0 || local < 0) {
            throw new IllegalArgumentException("shadowkv rank, outliers and local must be >= 0 and chunk >= 1");
        }
    }

    /** The rank used for keys {@code keyWidth} values wide (all KV heads); an explicit rank above it is an error. */
    public int rankFor(int keyWidth) {
        if (rank > keyWidth) {
            throw new IllegalArgumentException("shadowkv rank=" + rank + " exceeds the model's key width " + keyWidth);
        }
        return rank > 0 ? rank : Math.max(1, (keyWidth * DEFAULT_RANK_NUM + DEFAULT_RANK_DEN / 2) / DEFAULT_RANK_DEN);
    }

    /** Chunks of a prompt of {@code promptLength} positions that are candidates or outliers (not local). */
    public int chunks(int promptLength) {
        return Math.max(0, promptLength / chunk - local);
    }

    /**
     * Whether a decode step after a prompt of {@code promptLength} positions attends sparsely with {@code budget}: only
     * when some chunks are left out (otherwise it attends densely, the same bits as dense attention).
     */
    public boolean applies(int promptLength, int budget) {
        return chunks(promptLength) > outliers + budget / chunk;
    }
}
