package io.stride.core.tools;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.tensor.WorkerPool;

import java.util.SplittableRandom;

/**
 * llama-bench style measurements: prompt processing (one batch of P tokens) and token generation (N tokens one
 * at a time after a one-token prompt), each repeated after a warm-up.
 */
public final class Benchmark {
    /** One test's result: tokens/s of each repetition. */
    public record Result(String test, int threads, double[] tokensPerSecond, long bytesPerToken) {
        public double mean() {
            double s = 0;
            for (double v : tokensPerSecond) s += v;
            return s / tokensPerSecond.length;
        }

        public double stddev() {
            if (tokensPerSecond.length < 2) return 0;
            double m = mean(), s = 0;
            for (double v : tokensPerSecond) s += (v - m) * (v - m);
            return Math.sqrt(s / (tokensPerSecond.length - 1));
        }

        public double median() {
            double[] c = tokensPerSecond.clone();
            java.util.Arrays.sort(c);
            int n = c.length;
            return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
        }

        /** weight bytes moved per second (tg), 0 for pp */
        public double gbPerSecond() {
            return bytesPerToken * mean() / 1e9;
        }
    }

    private final Model model;
    private final WorkerPool pool;
    private final Transformer tf;

    public Benchmark(Model model, WorkerPool pool) {
        this.model = model;
        this.pool = pool;
        this.tf = new Transformer(model, pool);
    }

    private int[] randomTokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(model.config().vocab());
        return t;
    }

    public Result promptProcessing(int p, int reps) {
        if (p < 1 || reps < 1) throw new IllegalArgumentException("prompt size and repetitions must be >= 1");
        PagedKvCache cache = tf.newCache(16, (p + 15) / 16);
        float[] logits = new float[model.config().vocab()];
        Batch b = new Batch();
        int[] tokens = randomTokens(p, 1);
        double[] tps = new double[reps];
        for (int r = -1; r < reps; r++) {
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, p);
            b.clear();
            for (int i = 0; i < p; i++) b.add(tokens[i], i, seq, i == p - 1);
            long t0 = System.nanoTime();
            tf.forward(b, cache, logits);
            long dt = System.nanoTime() - t0;
            cache.release(seq);
            if (r >= 0) tps[r] = p * 1e9 / dt;
        }
        return new Result("pp" + p, pool.size(), tps, 0);
    }

    /** Runs one extra pp pass of {@code p} tokens with the forward pass profiled. */
    public io.stride.core.model.ForwardProfile profilePromptProcessing(int p) {
        return profiled(() -> promptProcessing(p, 1));
    }

    /** Runs one extra tg pass of {@code n} tokens with the forward pass profiled (after an unprofiled one). */
    public io.stride.core.model.ForwardProfile profileGeneration(int n) {
        tokenGeneration(n, 1);
        return profiled(() -> tokenGeneration(n, 1));
    }

    private io.stride.core.model.ForwardProfile profiled(Runnable run) {
        io.stride.core.model.ForwardProfile p = new io.stride.core.model.ForwardProfile();
        tf.profile(p);
        try {
            run.run();
        } finally {
            tf.profile(null);
        }
        return p;
    }

    public Result tokenGeneration(int n, int reps) {
        if (n < 1 || reps < 1) throw new IllegalArgumentException("generation length and repetitions must be >= 1");
        PagedKvCache cache = tf.newCache(16, (n + 1 + 15) / 16);
        float[] logits = new float[model.config().vocab()];
        Batch b = new Batch();
        int[] tokens = randomTokens(n + 1, 2);
        double[] tps = new double[reps];
        for (int r = -1; r < reps; r++) {
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, n + 1);
            b.clear();
            b.add(tokens[0], 0, seq, true);
            tf.forward(b, cache, logits);
            long t0 = System.nanoTime();
            for (int i = 1; i <= n; i++) {
                b.clear();
                b.add(tokens[i], i, seq, true);
                tf.forward(b, cache, logits);
            }
            long dt = System.nanoTime() - t0;
            cache.release(seq);
            if (r >= 0) tps[r] = n * 1e9 / dt;
        }
        return new Result("tg" + n, pool.size(), tps, model.weights().bytesPerToken());
    }
}
