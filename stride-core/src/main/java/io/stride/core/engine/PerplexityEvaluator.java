package io.stride.core.engine;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Transformer;
import io.stride.core.sparse.SparseAttention;

/**
 * Perplexity over consecutive non-overlapping windows: within each window (a fresh context), every next-token
 * prediction from position {@code scoreFrom} of the window on is scored (0: all; llama-perplexity scores from half the
 * window, so every scored prediction has at least that much context). With sparse attention the scored tokens are
 * fed as decode steps ({@link Batch#setSparse}), the tokens before them as a dense prompt: the scores are those of
 * decoding the window's second part token by token after prefilling its first.
 */
public final class PerplexityEvaluator {
    /** Totals: tokens in the input, windows, scored predictions and their summed negative log-likelihood. */
    public record Result(int tokens, int windows, long scored, double nllSum) {
        public double meanNll() {
            return nllSum / scored;
        }

        public double perplexity() {
            return Math.exp(meanNll());
        }
    }

    private final Transformer transformer;
    private final PagedKvCache cache;
    private final int chunk;
    private final SparseAttention sparse;

    public PerplexityEvaluator(Transformer transformer, PagedKvCache cache, int chunk) {
        this(transformer, cache, chunk, null);
    }

    /** {@code sparse}: the scored tokens' sparse attention (null: dense), resolved for the model here. */
    public PerplexityEvaluator(Transformer transformer, PagedKvCache cache, int chunk, SparseAttention sparse) {
        this.transformer = transformer;
        this.cache = cache;
        this.chunk = chunk;
        cache.config().checkZipAllows(sparse == null, "sparse attention");
        this.sparse = sparse == null ? null : sparse.forLayers(transformer.config().layers(), transformer.config().kvDimK());
    }

    public Result evaluate(int[] ids, int window) {
        return evaluate(ids, window, io.stride.core.tools.Progress.NONE);
    }

    /** As {@link #evaluate(int[], int)}, telling {@code progress} how many tokens have been fed. */
    public Result evaluate(int[] ids, int window, io.stride.core.tools.Progress progress) {
        return evaluate(ids, window, 0, progress);
    }

    /** As {@link #evaluate(int[], int, io.stride.core.tools.Progress)}, scoring predictions from window position {@code scoreFrom} on. */
    public Result evaluate(int[] ids, int window, int scoreFrom, io.stride.core.tools.Progress progress) {
        if (scoreFrom < 0 || scoreFrom >= window - 1) {
            throw new IllegalArgumentException("the first scored position must be in [0, " + (window - 1) + "), got " + scoreFrom);
        }
        if (window < 2) {
            throw new IllegalArgumentException("window must be at least 2 tokens, got " + window);
        }
        int vocab = transformer.config().vocab();
        float[] logits = new float[chunk * vocab];
        Batch batch = new Batch();
        int windows = 0;
        long scored = 0;
        double nll = 0;
        for (int ws = 0; ws < ids.length; ws += window) {
            int we = Math.min(ids.length, ws + window);
            if (we - ws < 2) {
                break;
            }
            windows++;
            KvSequence seq = cache.newSequence();
            if (!cache.reserve(seq, we - ws)) {
                throw new IllegalStateException("KV cache too small for a window of " + (we - ws));
            }
            try {
                for (int cs = ws; cs < we; cs += chunk) {
                    int ce = Math.min(we, cs + chunk);
                    batch.clear();
                    for (int i = cs; i < ce; i++) {
                        batch.add(ids[i], i - ws, seq, i + 1 < we && i - ws >= scoreFrom);
                        if (i - ws >= scoreFrom) {
                            batch.setSparse(batch.size() - 1, sparse);
                        }
                    }
                    transformer.forward(batch, cache, logits);
                    int row = 0;
                    for (int i = cs; i < ce && i + 1 < we; i++) {
                        if (i - ws >= scoreFrom) {
                            nll -= logProb(logits, row++ * vocab, vocab, ids[i + 1]);
                            scored++;
                        }
                    }
                    progress.update(ce, ids.length);
                }
            } finally {
                cache.release(seq);
            }
        }
        return new Result(ids.length, windows, scored, nll);
    }

    static double logProb(float[] l, int off, int n, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, l[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(l[off + i] - max);
        }
        return l[off + target] - max - Math.log(sum);
    }
}
