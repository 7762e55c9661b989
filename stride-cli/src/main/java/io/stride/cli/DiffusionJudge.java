package io.stride.cli;

import io.stride.core.engine.PerplexityEvaluator;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.Progress;

import java.util.Arrays;

/**
 * Scores diffusion answers with an autoregressive model of the same vocabulary: the log-likelihood of the answer tokens
 * given the prompt. No decoding strategy optimizes for it, so it measures what parallel unmasking costs in quality.
 */
final class DiffusionJudge {
    private final int vocab;
    private final PerplexityEvaluator evaluator;

    DiffusionJudge(Model model, WorkerPool pool, int capacity) {
        Transformer t = new Transformer(model.requireAutoregressive("the judge"), pool);
        this.vocab = model.config().vocab();
        this.evaluator = new PerplexityEvaluator(t, t.newCache(KvCacheConfig.DEFAULT, 16, (capacity + 15) / 16), 512);
    }

    /** Σ log p(answer[i] | prompt, answer[..i]) in nats (0 for an empty answer). */
    double logLikelihood(int[] prompt, int[] answer) {
        if (answer.length == 0) {
            return 0;
        }
        int[] all = Arrays.copyOf(prompt, prompt.length + answer.length);
        System.arraycopy(answer, 0, all, prompt.length, answer.length);
        for (int t : all) {
            if (t >= vocab) throw new IllegalArgumentException("token " + t + " is outside the judge's vocabulary");
        }
        // one window over prompt and answer, scoring the predictions of the answer tokens only
        return -evaluator.evaluate(all, all.length, prompt.length - 1, Progress.NONE).nllSum();
    }
}
