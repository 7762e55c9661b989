package io.stride.cli;

import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;

/**
 * Scores diffusion answers with an autoregressive model of the same vocabulary: the log-likelihood of the answer tokens
 * given the prompt. No decoding strategy optimizes for it, so it measures what parallel unmasking costs in quality.
 */
final class DiffusionJudge {
    private final Model model;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final int capacity;
    private final Batch batch = new Batch();
    private float[] logits = new float[0];

    DiffusionJudge(Model model, WorkerPool pool, int capacity) {
        this.model = model.requireAutoregressive("the judge");
        this.transformer = new Transformer(model, pool);
        this.capacity = capacity;
        this.cache = transformer.newCache(KvCacheConfig.DEFAULT, 16, (capacity + 15) / 16);
    }

    /** Σ log p(answer[i] | prompt, answer[..i]) in nats (0 for an empty answer). */
    double logLikelihood(int[] prompt, int[] answer) {
        if (answer.length == 0) {
            return 0;
        }
        int n = prompt.length + answer.length, vocab = model.config().vocab();
        if (n > capacity) throw new IllegalArgumentException("judge context " + capacity + " < " + n + " tokens");
        KvSequence seq = cache.newSequence();
        try {
            cache.reserve(seq, n);
            batch.clear();
            for (int i = 0; i < n; i++) {
                int t = i < prompt.length ? prompt[i] : answer[i - prompt.length];
                if (t >= vocab) throw new IllegalArgumentException("token " + t + " is outside the judge's vocabulary");
                batch.add(t, i, seq, i >= prompt.length - 1 && i < n - 1);
            }
            if ((long) answer.length * vocab > logits.length) logits = new float[answer.length * vocab];
            transformer.forward(batch, cache, logits);
            double sum = 0;
            for (int r = 0; r < answer.length; r++) {
                int off = r * vocab;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < vocab; j++) max = Math.max(max, logits[off + j]);
                double z = 0;
                for (int j = 0; j < vocab; j++) z += Math.exp(logits[off + j] - max);
                sum += logits[off + answer[r]] - max - Math.log(z);
            }
            return sum;
        } finally {
            cache.release(seq);
        }
    }
}
