package io.stride.core.model;

import io.stride.core.SharedData;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.SparseAttention;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.stride.core.model.BatchInvarianceTest.firstDifference;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sparse decode attention keeps the batch-invariance promise: a sparse token's logits are the same bits one at a time,
 * in one batch, in uneven chunks, on another thread count, and beside a dense sequence, whose own logits do not change;
 * a token that sees no more positions than the budget computes exactly what dense attention does.
 */
class SparseInvarianceTest {
    private static final String MODEL = "javatiny-26m-f16.gguf"; // 8 layers: dense 0-1, select 2, sparse 3-4, reselect 5, sparse 6-7

    @ParameterizedTest
    @ValueSource(strings = {"f16", "q8_0", "q4_0"})
    void sparseLogitsDoNotDependOnTheBatch(String type) {
        KvCacheType t = KvCacheType.parse(type);
        SparseAttention sa = SparseAttention.parse("tidal:budget=24");
        try (Model m = Model.open(SharedData.model(MODEL))) {
            int[] tokens = tokens(m, 110, 13);
            int vocab = m.config().vocab();
            float[] whole = run(m, t, 16, 2, new int[]{110}, seq(tokens, 40, sa))[0];
            float[] decode = run(m, t, 16, 2, new int[]{40, 1}, seq(tokens, 40, sa))[0];
            float[] uneven = run(m, t, 8, 1, new int[]{5, 1, 17, 3, 11, 2}, seq(tokens, 40, sa))[0];
            assertThat(firstDifference(decode, whole, vocab)).as("prompt then one at a time").isEqualTo("none");
            assertThat(firstDifference(uneven, whole, vocab)).as("uneven chunks, one thread, blocks of 8").isEqualTo("none");
            float[] dense = run(m, t, 16, 2, new int[]{110}, seq(tokens, 40, null))[0];
            assertThat(firstDifference(whole, dense, vocab)).as("sparse differs from dense past the budget").isNotEqualTo("none");
            // the prompt and the decode steps that see at most 24 positions are dense
            int within = 24 * vocab;
            assertThat(firstDifference(java.util.Arrays.copyOf(whole, within), java.util.Arrays.copyOf(dense, within), vocab))
                    .isEqualTo("none");
        }
    }

    @Test
    void sparseAndDenseSequencesShareABatchWithoutChangingEachOther() {
        SparseAttention sa = SparseAttention.parse("tidal:budget=20,reselect=none,sink=2,window=4");
        try (Model m = Model.open(SharedData.model(MODEL))) {
            int vocab = m.config().vocab();
            int[] a = tokens(m, 90, 13), b = tokens(m, 90, 29);
            float[] aloneA = run(m, KvCacheType.F16, 16, 2, new int[]{90}, seq(a, 30, sa))[0];
            float[] aloneB = run(m, KvCacheType.F16, 16, 2, new int[]{90}, seq(b, 30, null))[0];
            float[][] mixed = run(m, KvCacheType.F16, 16, 2, new int[]{30, 1, 4}, seq(a, 30, sa), seq(b, 30, null));
            assertThat(firstDifference(mixed[0], aloneA, vocab)).as("sparse beside dense").isEqualTo("none");
            assertThat(firstDifference(mixed[1], aloneB, vocab)).as("dense beside sparse").isEqualTo("none");
        }
    }

    /**
     * ShadowKV: a prompt of 200 positions (23 chunks of 8 besides the 2 local ones, 2 outliers per KV head, 6 chosen);
     * its decode steps give the same bits in one batch, one at a time, in uneven chunks on one thread with blocks of 8,
     * on four threads, and beside a dense and a TidalDecode sequence; they differ from dense decoding, the prompt not.
     */
    @ParameterizedTest
    @ValueSource(strings = {"f16", "q4_0"})
    void shadowKvLogitsDoNotDependOnTheBatch(String type) {
        KvCacheType t = KvCacheType.parse(type);
        SparseAttention sa = SparseAttention.parse("shadowkv:budget=48,outliers=2,local=2");
        try (Model m = Model.open(SharedData.model(MODEL))) {
            int[] tokens = tokens(m, 240, 13), other = tokens(m, 240, 29);
            int vocab = m.config().vocab();
            float[] whole = run(m, t, 16, 2, new int[]{240}, seq(tokens, 200, sa))[0];
            float[] decode = run(m, t, 16, 2, new int[]{200, 1}, seq(tokens, 200, sa))[0];
            float[] uneven = run(m, t, 8, 1, new int[]{5, 1, 17, 3, 11, 2}, seq(tokens, 200, sa))[0];
            float[] four = run(m, t, 16, 4, new int[]{203, 2, 1}, seq(tokens, 200, sa))[0];
            float[][] mixed = run(m, t, 16, 2, new int[]{150, 7, 1}, seq(other, 100, null), seq(tokens, 200, sa),
                    seq(other, 100, SparseAttention.parse("tidal:budget=24")));
            assertThat(firstDifference(decode, whole, vocab)).as("prompt then one at a time").isEqualTo("none");
            assertThat(firstDifference(uneven, whole, vocab)).as("uneven chunks, one thread, blocks of 8").isEqualTo("none");
            assertThat(firstDifference(four, whole, vocab)).as("four threads").isEqualTo("none");
            assertThat(firstDifference(mixed[1], whole, vocab)).as("beside dense and tidal").isEqualTo("none");
            // keys in a pool of their own (16 key blocks for 19 blocks): after the first decode step the 11 whole blocks
            // of the 184 factored positions give their keys back, and the later steps compute the same bits
            int[] keysFree = new int[1];
            float[] pooled = run(m, KvCacheConfig.of(t).withKeyShare(0.8), keysFree, 16, 2, new int[]{200, 1}, seq(tokens, 200, sa))[0];
            assertThat(firstDifference(pooled, whole, vocab)).as("prompt keys given back").isEqualTo("none");
            assertThat(keysFree[0]).as("free key blocks: 16 - (15 held - 11 given back)").isEqualTo(12);
            float[] dense = run(m, t, 16, 2, new int[]{240}, seq(tokens, 200, null))[0];
            float[] otherDense = run(m, t, 16, 2, new int[]{240}, seq(other, 100, null))[0];
            assertThat(firstDifference(mixed[0], otherDense, vocab)).as("dense beside shadowkv").isEqualTo("none");
            assertThat(firstDifference(whole, dense, vocab)).as("shadowkv differs from dense").isNotEqualTo("none");
            int prompt = 200 * vocab;
            assertThat(firstDifference(java.util.Arrays.copyOf(whole, prompt), java.util.Arrays.copyOf(dense, prompt), vocab))
                    .isEqualTo("none");
        }
    }

    /** Budgets past {@link PagedAttention#SPLIT}: sparse layers attend in split runs, selection layers in one. */
    @Test
    void splitSparseAttentionDoesNotDependOnTheBatch() {
        SparseAttention sa = SparseAttention.parse("tidal:budget=1040,select=1");
        try (Model m = Model.open(SharedData.model("javatiny-3m-f16.gguf"))) {
            int n = PagedAttention.SPLIT + 60;
            int[] tokens = tokens(m, n, 13);
            int vocab = m.config().vocab();
            float[] whole = run(m, KvCacheType.F16, 16, 2, new int[]{n}, seq(tokens, 1000, sa))[0];
            float[] decode = run(m, KvCacheType.F16, 16, 2, new int[]{1000, 1}, seq(tokens, 1000, sa))[0];
            float[] fourThreads = run(m, KvCacheType.F16, 16, 4, new int[]{1003, 2, 1}, seq(tokens, 1000, sa))[0];
            assertThat(firstDifference(decode, whole, vocab)).as("decode steps").isEqualTo("none");
            assertThat(firstDifference(fourThreads, whole, vocab)).as("four threads").isEqualTo("none");
        }
    }

    private record Seq(int[] tokens, int sparseFrom, SparseAttention mode) {}

    private static Seq seq(int[] tokens, int sparseFrom, SparseAttention mode) {
        return new Seq(tokens, sparseFrom, mode);
    }

    private static int[] tokens(Model m, int n, int salt) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 7919 + salt * i * i + 13) % m.config().vocab();
        return t;
    }

    /** The first chunk's size, then the others' in turn. */
    private static int chunk(int[] chunks, int ci) {
        return ci == 0 || chunks.length == 1 ? chunks[0] : chunks[1 + (ci - 1) % (chunks.length - 1)];
    }

    /** Logits of every position of each sequence, fed side by side in chunks of the given sizes. */
    private static float[][] run(Model model, KvCacheType type, int blockSize, int threads, int[] chunks, Seq... seqs) {
        return run(model, KvCacheConfig.of(type), null, blockSize, threads, chunks, seqs);
    }

    /**
     * As above in a cache of {@code kv}; with keys in a pool of their own, ShadowKV's factored prompt keys are given
     * back after each pass (as the engine does) and {@code keysFree[0]} receives the key blocks free at the end.
     */
    private static float[][] run(Model model, KvCacheConfig kvConfig, int[] keysFree, int blockSize, int threads, int[] chunks,
                                 Seq... seqs) {
        int vocab = model.config().vocab();
        try (WorkerPool pool = new WorkerPool(threads)) {
            Transformer tf = new Transformer(model, pool);
            int total = 0;
            for (Seq s : seqs) total += s.tokens.length;
            PagedKvCache cache = tf.newCache(kvConfig, blockSize, total / blockSize + 4 * seqs.length);
            KvSequence[] kv = new KvSequence[seqs.length];
            float[][] out = new float[seqs.length][];
            for (int s = 0; s < seqs.length; s++) {
                kv[s] = cache.newSequence();
                cache.reserve(kv[s], seqs[s].tokens.length);
                out[s] = new float[seqs[s].tokens.length * vocab];
            }
            Batch b = new Batch();
            float[] buf = new float[total * vocab];
            int[] pos = new int[seqs.length];
            for (int ci = 0; ; ci++) {
                b.clear();
                for (int s = 0; s < seqs.length; s++) {
                    int n = Math.min(chunk(chunks, ci), seqs[s].tokens.length - pos[s]);
                    for (int i = 0; i < n; i++) {
                        int p = pos[s] + i;
                        b.add(seqs[s].tokens[p], p, kv[s], true);
                        if (p >= seqs[s].sparseFrom) {
                            b.setSparse(b.size() - 1, seqs[s].mode == null ? null : seqs[s].mode.forLayers(model.config().layers(), model.config().kvDimK()));
                        }
                    }
                }
                if (b.size() == 0) {
                    if (keysFree != null) {
                        keysFree[0] = cache.allocator().freeKeyCount();
                    }
                    return out;
                }
                tf.forward(b, cache, buf);
                for (KvSequence k : kv) {
                    if (k.shadowKeys() != null && k.shadowKeys().complete()) {
                        cache.dropPromptKeys(k, k.shadowKeys().chunks() * k.shadowKeys().chunk());
                    }
                }
                int row = 0;
                for (int s = 0; s < seqs.length; s++) {
                    int n = Math.min(chunk(chunks, ci), seqs[s].tokens.length - pos[s]);
                    System.arraycopy(buf, row * vocab, out[s], pos[s] * vocab, n * vocab);
                    row += n;
                    pos[s] += n;
                }
            }
        }
    }
}
