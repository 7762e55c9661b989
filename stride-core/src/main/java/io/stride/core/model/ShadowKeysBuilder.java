package io.stride.core.model;

import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ShadowKeys;
import io.stride.core.kv.store.KvArray;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.TopEigenvectors;
import io.stride.core.sparse.TopK;
import io.stride.core.tensor.kernel.Hadamard;
import io.stride.core.tensor.kernel.LowRankKernels;
import io.stride.core.tensor.kernel.VectorMath;

/**
 * Builds one layer of a sequence's {@link ShadowKeys} from the keys its prompt left in the cache: the stored keys K
 * (n × keyWidth, every KV head) are turned back into pre-RoPE keys P (the cache's Hadamard rotation undone, then the
 * inverse RoPE at each position); the rank-r basis is the top r eigenvectors V of PᵀP (P's right singular vectors,
 * so P·V·Vᵀ is P's best rank-r approximation, as the paper's SVD gives; {@link TopEigenvectors}), the factors P·V. Landmarks are the means of
 * each chunk's stored keys; a KV head's outlier chunks are those whose lowest cosine similarity between a key and the
 * chunk's mean is smallest (ties to the lower chunk). A function of the stored keys alone, so the same whatever batch
 * the step that builds it runs in, and of the worker count. Runs on the engine thread (the Gram matrix and the
 * factors on the workers), once per sequence and layer.
 */
final class ShadowKeysBuilder implements WorkerPool.Task {
    private static final int GRAM = 0, FACTORS = 1;
    /** tokens whose keys stay in the first-level caches while the Gram rows are updated */
    private static final int BLOCK = 64;

    private final ModelConfig c;
    private final Rope rope;
    private final WorkerPool pool;
    /** the parallel phase's inputs */
    private int phase, rows, width, rank;
    private float[] basis;
    private KvArray factors;
    /** per worker: the lanes of a dot product (summed in a fixed order: the same bits however warm the JIT is) */
    private final float[][] lanesOf;
    private final float[][] rowOf;
    private float[] keys = new float[0], gram = new float[0], cos = new float[0], sin = new float[0];
    private float[] cosSim = new float[0], tmp = new float[0];

    ShadowKeysBuilder(ModelConfig c, Rope rope, WorkerPool pool) {
        this.c = c;
        this.rope = rope;
        this.pool = pool;
        lanesOf = new float[pool.size()][VectorMath.LANES];
        rowOf = new float[pool.size()][0];
    }

    /**
     * The parallel phases: Gram rows a = wk, wk + parts, … (whole rows per worker, so a sum never depends on the
     * worker count), token block by token block; or the factors of a contiguous range of positions.
     */
    @Override
    public void run(int wk, int parts) {
        int n = rows, w = width;
        if (phase == GRAM) {
            for (int t0 = 0; t0 < n; t0 += BLOCK) {
                for (int a = wk; a < w; a += parts) {
                    LowRankKernels.gramRow(keys, t0, Math.min(n, t0 + BLOCK), w, a, gram);
                }
            }
            return;
        }
        float[] f = rowOf[wk];
        for (int t = (int) ((long) n * wk / parts); t < (int) ((long) n * (wk + 1) / parts); t++) {
            for (int j = 0; j < rank; j++) {
                f[j] = VectorMath.dot(keys, t * w, basis, j * w, w, lanesOf[wk], 0);
            }
            factors.write(t, f, 0);
        }
    }

    /** Layer {@code layer} of {@code sk} from the keys {@code cache} stores for {@code seq}'s first promptLength positions. */
    void build(ShadowKeys sk, int layer, PagedKvCache cache, KvSequence seq, int kRot) {
        KvArray stored = cache.keys(layer);
        int n = sk.promptLength(), w = c.kvDimK(), hd = c.headDimK(), heads = c.kvHeads(), r = sk.rank();
        int chunk = sk.chunk(), chunks = sk.chunks();
        if (keys.length < n * w) {
            keys = new float[n * w];
        }
        for (int t = 0; t < n; t++) {
            stored.widenKey(cache.keySlot(seq.slot(t)), 0, w, keys, t * w, 1);
        }
        KvArray landmarks = KvArray.of(KvCacheType.F16, true, Math.max(1, chunks), w);
        int[] outliers = landmarksAndOutliers(sk, heads, hd, w, chunk, chunks, landmarks);
        // the outliers' keys as stored: re-storing a widened value in its own type gives back its bits
        int count = sk.outlierCount();
        KvArray outlierKeys = KvArray.of(stored.type(), false, Math.max(1, heads * count * chunk), hd);
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < count; j++) {
                for (int s = 0; s < chunk; s++) {
                    outlierKeys.write((h * count + j) * chunk + s, keys, (outliers[h * count + j] * chunk + s) * w + h * hd);
                }
            }
        }
        // back to pre-RoPE keys, in place
        int half = rope.half();
        if (cos.length < half) {
            cos = new float[half];
            sin = new float[half];
        }
        for (int t = 0; t < n; t++) {
            rope.angles(t, cos, sin, 0);
            for (int h = 0; h < heads; h++) {
                int off = t * w + h * hd;
                if (kRot > 0) {
                    Hadamard.rotate(keys, off, hd, kRot);
                }
                rope.apply(keys, off, cos, sin, 0, true);
            }
        }
        float[] basis = topEigenvectors(n, w, r);
        KvArray factors = KvArray.of(KvCacheType.F16, false, n, r);
        for (int wk = 0; wk < rowOf.length; wk++) {
            if (rowOf[wk].length < r) {
                rowOf[wk] = new float[r];
            }
        }
        this.basis = basis;
        this.factors = factors;
        this.rank = r;
        phase = FACTORS;
        pool.run(this);
        this.basis = null;
        this.factors = null;
        sk.set(layer, factors, basis, landmarks, outliers, outlierKeys);
    }

    /**
     * Position p's key of KV head kvh as the cache would store it, rebuilt from layer {@code layer}'s factors: the
     * pre-RoPE key {@code factors[p] · basis}, RoPE at p (angles at {@code cos[p·half ..]}, {@code sin[p·half ..]}),
     * then the cache's Hadamard rotation ({@code kRot} > 0), into {@code k[0 .. hd)}; {@code f} holds the rank's floats.
     */
    static void rebuild(ShadowKeys sk, int layer, int kvh, int p, int hd, Rope rope, float[] cos, float[] sin, int kRot,
                        float[] f, float[] k) {
        int r = sk.rank();
        sk.factors(layer).widenKey(p, 0, r, f, 0, 1);
        float[] basis = sk.basis(layer);
        LowRankKernels.combine(basis, kvh * hd, basis.length / r, f, r, k, hd);
        rope.apply(k, 0, cos, sin, p * rope.half(), false);
        if (kRot > 0) {
            Hadamard.rotate(k, 0, hd, kRot);
        }
    }

    /** Writes each chunk's mean key into {@code landmarks}; returns the outlier chunks, {@code outlierCount} per KV head. */
    private int[] landmarksAndOutliers(ShadowKeys sk, int heads, int hd, int w, int chunk, int chunks, KvArray landmarks) {
        int count = sk.outlierCount();
        if (tmp.length < w) {
            tmp = new float[w];
        }
        if (cosSim.length < heads * chunks) {
            cosSim = new float[heads * chunks];
        }
        for (int ch = 0; ch < chunks; ch++) {
            java.util.Arrays.fill(tmp, 0, w, 0f);
            for (int s = 0; s < chunk; s++) {
                int row = (ch * chunk + s) * w;
                for (int j = 0; j < w; j++) {
                    tmp[j] += keys[row + j];
                }
            }
            for (int j = 0; j < w; j++) {
                tmp[j] /= chunk;
            }
            landmarks.write(ch, tmp, 0);
            for (int h = 0; h < heads; h++) {
                int o = h * hd;
                double mm = Math.sqrt(VectorMath.dot(tmp, o, tmp, o, hd, lanesOf[0], 0));
                float least = Float.POSITIVE_INFINITY;
                for (int s = 0; s < chunk; s++) {
                    int row = (ch * chunk + s) * w + o;
                    double kk = Math.sqrt(VectorMath.dot(keys, row, keys, row, hd, lanesOf[0], 0));
                    float cs = (float) (VectorMath.dot(keys, row, tmp, o, hd, lanesOf[0], 0) / Math.max(1e-12, kk * mm));
                    least = Math.min(least, cs);
                }
                cosSim[h * chunks + ch] = -least; // the largest of these are the outliers
            }
        }
        int[] outliers = new int[heads * count];
        float[] scratch = new float[chunks];
        float[] row = new float[chunks];
        for (int h = 0; h < heads && count > 0; h++) {
            System.arraycopy(cosSim, h * chunks, row, 0, chunks);
            TopK.select(row, chunks, count, scratch, outliers, h * count);
        }
        return outliers;
    }

    /** The top r eigenvectors of the Gram matrix of the first n rows of {@link #keys} (w wide), as r rows of w floats. */
    private float[] topEigenvectors(int n, int w, int r) {
        if (gram.length < w * w) {
            gram = new float[w * w];
        }
        java.util.Arrays.fill(gram, 0, w * w, 0f);
        this.rows = n;
        this.width = w;
        phase = GRAM;
        pool.run(this);
        for (int a = 0; a < w; a++) {
            for (int b = 0; b < a; b++) {
                gram[a * w + b] = gram[b * w + a]; // the upper triangle holds the sums
            }
        }
        return TopEigenvectors.of(gram, w, r);
    }
}
