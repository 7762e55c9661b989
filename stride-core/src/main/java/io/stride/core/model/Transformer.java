package io.stride.core.model;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.tensor.kernel.Hadamard;
import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.kernel.LayerOps;
import io.stride.core.tensor.kernel.VectorMath;

/**
 * One forward pass of a pre-norm decoder (Llama family) over a {@link Batch}: tokens of any number of
 * sequences at any positions, keys and values written to and read from a {@link PagedKvCache}, logits
 * computed only for the tokens that ask for them. Not thread-safe: one instance per engine loop.
 */
public final class Transformer {
    private final ModelConfig c;
    private final ModelWeights w;
    private final MatMul matmul;
    private final WorkerPool pool;
    private final Rope rope;

    private final PagedAttention attention;
    private final ZipPass zipPass;
    private final ZipSaliency zipSaliency;
    private ForwardProfile profile;
    private long mark;
    private int cap;
    private float[] x, xb, q, k, v, att, hb, hb2, ropeCos, ropeSin, normed;

    public Transformer(Model model, WorkerPool pool) {
        this.c = model.config();
        this.w = model.weights();
        this.pool = pool;
        this.matmul = new MatMul(pool);
        this.rope = new Rope(c, w.ropeFreqFactors());
        zipPass = new ZipPass(c);
        attention = new PagedAttention(c, pool, rope, zipPass);
        zipSaliency = new ZipSaliency(c, zipPass);
    }

    public ModelConfig config() {
        return c;
    }

    /** Times the parts of every following forward pass into {@code p} (null: stop profiling). */
    public void profile(ForwardProfile p) {
        this.profile = p;
    }

    private void tick() {
        if (profile != null) {
            mark = System.nanoTime();
        }
    }

    private void tock(ForwardProfile.Part part) {
        if (profile != null) {
            long now = System.nanoTime();
            profile.add(part, now - mark);
            mark = now;
        }
    }

    /** A KV cache shaped for this model, in the default cache type ({@link KvCacheType#DEFAULT}). */
    public PagedKvCache newCache(int blockSize, int numBlocks) {
        return newCache(KvCacheConfig.DEFAULT, blockSize, numBlocks);
    }

    /** A KV cache shaped for this model, keys and values as {@code kv} says (an error if a type cannot hold a head). */
    public PagedKvCache newCache(KvCacheConfig kv, int blockSize, int numBlocks) {
        kv.keys().checkHeadDim("cache type k", c.headDimK());
        kv.values().checkHeadDim("cache type v", c.headDimV());
        return new PagedKvCache(kv, c.layers(), c.kvDimK(), c.kvDimV(), blockSize, numBlocks);
    }

    private void ensureCapacity(int n) {
        if (n <= cap) {
            return;
        }
        cap = Math.max(n, cap * 2);
        x = new float[cap * c.dim()];
        xb = new float[cap * Math.max(c.dim(), c.heads() * c.headDimV())];
        q = new float[cap * c.qDim()];
        k = new float[cap * c.kvDimK()];
        v = new float[cap * c.kvDimV()];
        att = new float[cap * c.heads() * c.headDimV()];
        hb = new float[cap * c.ffnDim()];
        hb2 = new float[cap * c.ffnDim()];
        ropeCos = new float[cap * rope.half()];
        ropeSin = new float[cap * rope.half()];
        normed = new float[cap * c.dim()];
    }

    /**
     * Runs the batch. {@code logits} receives {@code batch.logitsCount()} rows of vocab values, in batch order
     * of the tokens that asked for logits. Each sequence must have reserved KV capacity for its positions;
     * afterwards its length covers every position written.
     */
    public void forward(Batch batch, PagedKvCache cache, float[] logits) {
        int n = batch.size();
        if (n == 0) {
            return;
        }
        validate(batch, logits);
        ensureCapacity(n);
        if (profile != null) {
            profile.countForward();
        }
        tick();
        int dim = c.dim();
        for (int i = 0; i < n; i++) {
            w.tokenEmbedding().dequantizeRow(batch.token(i), x, i * dim);
            rope.angles(batch.ropePosition(i), ropeCos, ropeSin, i * rope.half());
        }
        tock(ForwardProfile.Part.EMBEDDING);
        for (int l = 0; l < c.layers(); l++) {
            layer(l, w.layers()[l], batch, cache);
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (batch.wantsLogits(i)) {
                LayerOps.rmsNorm(normed, m * dim, x, i * dim, w.outputNorm(), dim, c.normEps());
                m++;
            }
        }
        for (int i = 0; i < n; i++) {
            KvSequence s = batch.sequence(i);
            if (batch.position(i) >= s.length()) {
                s.setLength(batch.position(i) + 1);
            }
        }
        tock(ForwardProfile.Part.NORMS_ROPE_ELEMENTWISE);
        if (m > 0) {
            matmul.multiply(w.output(), normed, m, logits);
        }
        tock(ForwardProfile.Part.LOGITS);
    }

    /**
     * The final hidden state of batch row {@code row} of the last forward pass, after the output norm (what the
     * output layer would multiply), written to {@code out[off, off + dim)}. Valid until the next forward pass.
     */
    public void finalHidden(int row, float[] out, int off) {
        int dim = c.dim();
        LayerOps.rmsNorm(out, off, x, row * dim, w.outputNorm(), dim, c.normEps());
    }

    /** The final-normalised hidden states of the last forward's logit rows (row stride = dim). */
    public float[] lastHidden() {
        return normed;
    }

    private void validate(Batch batch, float[] logits) {
        for (int i = 0; i < batch.size(); i++) {
            int t = batch.token(i);
            if (t < 0 || t >= c.vocab()) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary [0, " + c.vocab() + ")");
            }
            int p = batch.position(i);
            if (p < 0 || p >= batch.sequence(i).capacity()) {
                throw new IllegalArgumentException("position " + p + " outside the sequence's reserved KV capacity "
                        + batch.sequence(i).capacity());
            }
            if (batch.visible(i) > batch.sequence(i).capacity()) {
                throw new IllegalArgumentException("a bidirectional token sees " + batch.visible(i)
                        + " positions, more than the sequence's reserved KV capacity " + batch.sequence(i).capacity());
            }
        }
        if ((long) batch.logitsCount() * c.vocab() > logits.length) {
            throw new IllegalArgumentException("logits buffer too small: " + logits.length + " < "
                    + batch.logitsCount() + " x " + c.vocab());
        }
    }

    private void layer(int l, LayerWeights lw, Batch batch, PagedKvCache cache) {
        int n = batch.size();
        int dim = c.dim();
        int kRot = cache.config().keyRotation(c.headDimK()), vRot = cache.config().valueRotation(c.headDimV());
        boolean zip = cache.config().zipped();
        for (int i = 0; i < n; i++) {
            LayerOps.rmsNorm(xb, i * dim, x, i * dim, lw.attnNorm(), dim, c.normEps());
        }
        tock(ForwardProfile.Part.NORMS_ROPE_ELEMENTWISE);
        matmul.multiply(lw.wq(), xb, n, q);
        matmul.multiply(lw.wk(), xb, n, k);
        matmul.multiply(lw.wv(), xb, n, v);
        tock(ForwardProfile.Part.ATTENTION_PROJECTIONS);
        for (int i = 0; i < n; i++) {
            if (lw.bq() != null) {
                addRow(q, i * c.qDim(), lw.bq());
                addRow(k, i * c.kvDimK(), lw.bk());
                addRow(v, i * c.kvDimV(), lw.bv());
            }
            for (int h = 0; h < c.heads(); h++) {
                int off = i * c.qDim() + h * c.headDimK();
                if (lw.qNorm() != null) {
                    LayerOps.rmsNorm(q, off, q, off, lw.qNorm(), c.headDimK(), c.normEps());
                }
                rope.apply(q, off, ropeCos, ropeSin, i * rope.half(), false);
            }
            for (int h = 0; h < c.kvHeads(); h++) {
                int off = i * c.kvDimK() + h * c.headDimK();
                if (lw.kNorm() != null) {
                    LayerOps.rmsNorm(k, off, k, off, lw.kNorm(), c.headDimK(), c.normEps());
                }
                rope.apply(k, off, ropeCos, ropeSin, i * rope.half(), false);
            }
            rotate(q, i * c.qDim(), c.heads(), c.headDimK(), kRot);
            rotate(k, i * c.kvDimK(), c.kvHeads(), c.headDimK(), kRot);
            rotate(v, i * c.kvDimV(), c.kvHeads(), c.headDimV(), vRot);
            int slot = batch.sequence(i).slot(batch.position(i));
            cache.writeKey(l, slot, k, i * c.kvDimK());
            cache.writeValue(l, slot, v, i * c.kvDimV());
        }
        if (zip) {
            zipPass.prepare(batch, k, v, cache.keyType() == KvCacheType.ZIP, cache.valueType() == KvCacheType.ZIP);
            zipSaliency.run(l, batch, cache, q); // closes the blocks this pass fills, before anything reads them
        }
        tock(ForwardProfile.Part.NORMS_ROPE_ELEMENTWISE);
        attention.run(l, batch, cache, q, att);
        if (zip) {
            zipPass.finish(l, batch, cache);
        }
        if (vRot > 0) {
            for (int i = 0; i < n; i++) {
                rotate(att, i * c.heads() * c.headDimV(), c.heads(), c.headDimV(), vRot); // back from the stored rotation
            }
        }
        tock(ForwardProfile.Part.ATTENTION);
        matmul.multiply(lw.wo(), att, n, xb);
        tock(ForwardProfile.Part.ATTENTION_PROJECTIONS);
        LayerOps.add(x, xb, n * dim);
        for (int i = 0; i < n; i++) {
            LayerOps.rmsNorm(xb, i * dim, x, i * dim, lw.ffnNorm(), dim, c.normEps());
        }
        tock(ForwardProfile.Part.NORMS_ROPE_ELEMENTWISE);
        matmul.multiply(lw.wGate(), xb, n, hb);
        matmul.multiply(lw.wUp(), xb, n, hb2);
        tock(ForwardProfile.Part.FEED_FORWARD);
        for (int i = 0; i < n; i++) {
            // per token, so that no value's arithmetic depends on where the token sits in the batch
            LayerOps.swiGlu(hb, hb2, i * c.ffnDim(), c.ffnDim());
        }
        tock(ForwardProfile.Part.NORMS_ROPE_ELEMENTWISE);
        matmul.multiply(lw.wDown(), hb, n, xb);
        tock(ForwardProfile.Part.FEED_FORWARD);
        LayerOps.add(x, xb, n * dim);
    }

    /** Rotates each of {@code heads} heads of {@code hd} values from {@code off} in runs of {@code n} (0: none). */
    private static void rotate(float[] a, int off, int heads, int hd, int n) {
        if (n > 0) {
            Hadamard.rotate(a, off, heads * hd, n);
        }
    }

    private static void addRow(float[] a, int off, float[] b) {
        for (int j = 0; j < b.length; j++) {
            a[off + j] += b[j];
        }
    }
}
