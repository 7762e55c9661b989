package io.stride.core.kv;

import io.stride.core.kv.store.KvArray;

/**
 * ShadowKV's description of one sequence's prompt keys (positions [0, {@link #promptLength})), layer by layer: the
 * pre-RoPE keys (all KV heads together, {@code keyWidth} values) as {@code factors[t] · basis}, with {@code factors}
 * {@link #rank} values per position stored in f16 and {@code basis} {@code rank × keyWidth} floats; one landmark per
 * chunk of {@link #chunk} positions (the mean of its keys as stored, f16, in key tiles so the attention kernels score
 * sixteen landmarks per vector operation); and per KV head the outlier chunks, ascending, with a copy of their keys as
 * the cache stores them (same type, same bits), so the cache's keys of positions [0, chunks · chunk) are not read
 * again. The last positions (from {@code chunks · chunk}) are not chunked: they are read from the cache as stored.
 * Built once, layer by layer, by the first decode step's attention; read-only afterwards.
 */
public final class ShadowKeys {
    private final int promptLength, rank, chunk, chunks, outlierCount, keyWidth;
    private final KvArray[] factors, landmarks, outlierKeys;
    private final float[][] basis;
    private final int[][] outliers;

    public ShadowKeys(int layers, int promptLength, int rank, int chunk, int chunks, int outlierCount, int keyWidth) {
        this.promptLength = promptLength;
        this.rank = rank;
        this.chunk = chunk;
        this.chunks = chunks;
        this.outlierCount = outlierCount;
        this.keyWidth = keyWidth;
        factors = new KvArray[layers];
        landmarks = new KvArray[layers];
        outlierKeys = new KvArray[layers];
        basis = new float[layers][];
        outliers = new int[layers][];
    }

    public int promptLength() {
        return promptLength;
    }

    public int rank() {
        return rank;
    }

    public int chunk() {
        return chunk;
    }

    /** Chunks that are candidates or outliers: positions [0, chunks · chunk). */
    public int chunks() {
        return chunks;
    }

    /** Key values per position (every KV head). */
    public int keyWidth() {
        return keyWidth;
    }

    public int outlierCount() {
        return outlierCount;
    }

    public boolean built(int layer) {
        return factors[layer] != null;
    }

    /** Whether every layer is built (the prompt's chunked positions are no longer read from the cache). */
    public boolean complete() {
        return factors[factors.length - 1] != null;
    }

    /**
     * Installs layer {@code layer}: factors, basis, landmarks, outliers ({@code kvHeads × outlierCount}, by head) and
     * their keys (rows of one head's key: row (kvh · outlierCount + j) · chunk + s is position s of KV head kvh's j-th).
     */
    public void set(int layer, KvArray factors, float[] basis, KvArray landmarks, int[] outliers, KvArray outlierKeys) {
        this.basis[layer] = basis;
        this.landmarks[layer] = landmarks;
        this.outliers[layer] = outliers;
        this.outlierKeys[layer] = outlierKeys;
        this.factors[layer] = factors;
    }

    /** The stored keys of layer {@code layer}'s outlier chunks, one head's key per row (see {@link #set}). */
    public KvArray outlierKeys(int layer) {
        return outlierKeys[layer];
    }

    public KvArray factors(int layer) {
        return factors[layer];
    }

    public float[] basis(int layer) {
        return basis[layer];
    }

    public KvArray landmarks(int layer) {
        return landmarks[layer];
    }

    /** Outlier chunks of KV head {@code kvh} in layer {@code layer}: {@code outliers(layer)[kvh · outlierCount ..]}, ascending. */
    public int[] outliers(int layer) {
        return outliers[layer];
    }

    /** Bytes of the built layers' factors, bases, landmarks and outlier keys. */
    public long bytes() {
        long b = 0;
        for (int l = 0; l < factors.length; l++) {
            if (factors[l] != null) {
                b += factors[l].bytes() + 4L * basis[l].length + landmarks[l].bytes() + 4L * outliers[l].length
                        + outlierKeys[l].bytes();
            }
        }
        return b;
    }

    /** Positions of the prompt ShadowKV still reads from the cache: those after the last chunk. */
    public int storedPositions() {
        return promptLength - chunks * chunk;
    }
}
